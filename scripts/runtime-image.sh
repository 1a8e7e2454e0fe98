#!/usr/bin/env bash
# Build the runtime image (the equivalent of runtime/Dockerfile: node, sleep,
# /node_modules, uid 1000, /work, no ENV but PATH) from this machine's
# files and import it into the project's podman storage as taller-runtime:local.
# Where no registry is reachable, images cannot be pulled: the rootfs is node, its
# shared libraries (ldd), a minimal /etc, `sleep` (the run's network holder) and
# runtime/node_modules at /node_modules.
# Idempotent: the image is labelled with a hash of its inputs and rebuilt only when
# they change. Root only (podman storage of the project's).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"

[ "$(id -u)" -eq 0 ] || { echo "runtime-image.sh: run it as root" >&2; exit 1; }
command -v podman >/dev/null || { echo "runtime-image.sh: apt-get install podman runc" >&2; exit 1; }
node_bin="$(readlink -f "$(command -v node)")"
sleep_bin="$(readlink -f "$(command -v sleep)")"
modules="$repo/runtime/node_modules"
[ -d "$modules/express" ] || {
  echo "runtime-image.sh: $modules is missing (cd runtime && npm ci --ignore-scripts)" >&2; exit 1; }
podman_setup

# Contents only, not paths: a clone elsewhere (CI's) finds the same image up to date.
inputs="$( {
  cat "$node_bin" "$sleep_bin" "$repo/runtime/package-lock.json" "$0" | sha256sum
  # Without the load addresses, which change on every call (ASLR).
  ldd "$node_bin" "$sleep_bin" | sed 's/ (0x[0-9a-f]*)//'
} | sha256sum | cut -c1-16)"
current="$(taller_podman image inspect --format '{{index .Labels "taller.inputs"}}' \
  "$TALLER_RUNTIME_IMAGE" 2>/dev/null || true)"
if [ "$current" = "$inputs" ]; then
  echo "$TALLER_RUNTIME_IMAGE is up to date ($inputs)"
  exit 0
fi

work="$(mktemp -d "$TALLER_PODMAN_DIR/tmp/rootfs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{usr/bin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,work,run}
# Merged /usr, as in Debian: /bin, /lib and /lib64 are links into /usr.
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
install -m 0755 "$node_bin" "$root/usr/bin/node"
install -m 0755 "$sleep_bin" "$root/usr/bin/sleep"
# Every library node and sleep load, at the path the dynamic linker looks for it.
for lib in $( { ldd "$node_bin"; ldd "$sleep_bin"; } | grep -o '/[^ ]*' | sort -u); do
  case "$lib" in /usr/*) target="$root$lib" ;; *) target="$root/usr$lib" ;; esac
  mkdir -p "$(dirname "$target")"
  cp -L "$lib" "$target"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000:node:/work:/usr/sbin/nologin
PASSWD
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
: >"$root/etc/resolv.conf"
# The shared modules, read-only for everyone but root (as npm ci leaves them in the image).
cp -a "$modules" "$root/node_modules"
rm -f "$root/node_modules/.installed"
chown -R 0:0 "$root/node_modules"
chmod -R a+rX,go-w "$root/node_modules"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/work"

tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
taller_podman import --quiet \
  --change 'USER=1000:1000' \
  --change 'WORKDIR=/work' \
  --change 'ENV=PATH=/usr/bin:/bin' \
  --change "LABEL=taller.inputs=$inputs" \
  --change 'CMD=["node","--version"]' \
  "$work/rootfs.tar" "$TALLER_RUNTIME_IMAGE" >/dev/null
# The image of the previous inputs, now untagged, is dead weight.
taller_podman image prune -f >/dev/null || true
echo "$TALLER_RUNTIME_IMAGE built ($inputs, $(du -sh "$work/rootfs.tar" | cut -f1) rootfs)"
