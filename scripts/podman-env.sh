# Sourced by the podman scripts: where the project's podman keeps its state, and how
# every podman command of the project is invoked. Not executable on its own.
#
# Storage lives in directories of the project's own (never the machine's default
# /var/lib/containers), so that removing /var/lib/taller/podman removes everything.
TALLER_PODMAN_DIR="${TALLER_PODMAN_DIR:-/var/lib/taller/podman}"
TALLER_PODMAN_RUN="${TALLER_PODMAN_RUN:-/run/taller-podman}"
TALLER_PODMAN_SOCK="${TALLER_PODMAN_SOCK:-$TALLER_PODMAN_RUN/podman.sock}"
TALLER_RUNTIME_IMAGE="${TALLER_RUNTIME_IMAGE:-taller-runtime:local}"
export CONTAINERS_CONF="$TALLER_PODMAN_DIR/containers.conf"

podman_setup() {
  mkdir -p "$TALLER_PODMAN_DIR/root" "$TALLER_PODMAN_DIR/tmp" "$TALLER_PODMAN_RUN"
  chmod 700 "$TALLER_PODMAN_DIR" "$TALLER_PODMAN_RUN"
  # crun fails on the hybrid cgroup v1 layout of these machines; runc works. The
  # ulimits bound what a container inherits (podman's default nofile is 1M here).
  cat >"$CONTAINERS_CONF.tmp" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"
init_path = "/usr/libexec/podman/catatonit"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
}

PODMAN_FLAGS=(
  --root "$TALLER_PODMAN_DIR/root" --runroot "$TALLER_PODMAN_RUN/runroot"
  --tmpdir "$TALLER_PODMAN_DIR/tmp" --runtime runc --cgroup-manager cgroupfs
  --events-backend file
)

taller_podman() {
  podman "${PODMAN_FLAGS[@]}" "$@"
}
