#!/usr/bin/env bash
# Local stand-ins for the public base images our Dockerfiles start FROM, made where
# Debian's mirror is reachable but no image registry is (this machine, CI), so that the
# Dockerfiles themselves can be built and their images run (tests/deploy):
#
#   localhost/taller-base/debian:bookworm-slim  for debian:bookworm-slim
#       debootstrap --variant=minbase bookworm, from deb.debian.org
#   localhost/taller-base/python:3.11-bookworm  for python:3.11-slim-bookworm
#       Debian's python3.11 in a venv at /usr/local: `python` and `pip` on PATH, as there
#   localhost/taller-base/node:20-bookworm      for node:20-bookworm-slim
#       this machine's node 20 and npm at /usr/local, as there
#
# They are not the official images (Debian's Python 3.11.2, not python.org's latest 3.11),
# and are named so. The Dockerfiles take them as build arguments (PYTHON_IMAGE,
# NODE_IMAGE, DEBIAN_IMAGE); their defaults stay the official images.
# Idempotent: labelled with a hash of their inputs, rebuilt only when those change.
# Root only (podman storage of the project's).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"

[ "$(id -u)" -eq 0 ] || { echo "base-images.sh: run it as root" >&2; exit 1; }
command -v podman >/dev/null || { echo "base-images.sh: apt-get install podman runc" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
prefix="localhost/taller-base"
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
npm_dir="$(cd "$npm_dir" && pwd)"
podman_setup

inputs="$( { cat "$0" "$node_bin" "$npm_dir/package.json" /usr/local/share/ca-certificates/*.crt \
  2>/dev/null; echo "$mirror"; } \
  | sha256sum | cut -c1-16)"
up_to_date() {
  [ "$(taller_podman image inspect --format '{{index .Labels "taller.inputs"}}' "$1" \
    2>/dev/null || true)" = "$inputs" ]
}
if up_to_date "$prefix/debian:bookworm-slim" && up_to_date "$prefix/python:3.11-bookworm" \
    && up_to_date "$prefix/node:20-bookworm"; then
  echo "base images are up to date ($inputs)"
  exit 0
fi

work="$(mktemp -d "$TALLER_PODMAN_DIR/tmp/base.XXXXXX")"
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# The certificate authorities this machine trusts beyond Debian's (an egress proxy's, say):
# builds from these images fetch from PyPI and npm through the same network.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
  chroot "$work/rootfs" update-ca-certificates >/dev/null 2>&1
fi
# As the slim image: no package lists or downloaded archives.
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
tar -C "$work/rootfs" -c . | taller_podman import -q \
  --change 'CMD ["bash"]' --change "LABEL taller.inputs=$inputs" \
  - "$prefix/debian:bookworm-slim" >/dev/null

mkdir -p "$work/python"
cat >"$work/python/Dockerfile" <<DOCKERFILE
FROM $prefix/debian:bookworm-slim
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && python3 -m venv /usr/local \\
 && /usr/local/bin/pip --version
# pip and Node carry their own lists of authorities; these point them at the system's.
ENV PATH=/usr/local/bin:\$PATH LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
LABEL taller.inputs=$inputs
CMD ["python3"]
DOCKERFILE
taller_podman build -q --network host -t "$prefix/python:3.11-bookworm" "$work/python" >/dev/null 2>"$work/python.log" \
  || { tail -20 "$work/python.log" >&2; exit 1; }

mkdir -p "$work/node"
cp "$node_bin" "$work/node/node"
cp -a "$npm_dir" "$work/node/npm"
cat >"$work/node/Dockerfile" <<DOCKERFILE
FROM $prefix/debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
# Node carries its own list of authorities; the system's are added to it.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
LABEL taller.inputs=$inputs
CMD ["node"]
DOCKERFILE
taller_podman build -q --network host -t "$prefix/node:20-bookworm" "$work/node" >/dev/null
echo "base images built ($inputs): $prefix/{debian:bookworm-slim,python:3.11-bookworm,node:20-bookworm}"
