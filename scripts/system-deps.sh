#!/usr/bin/env bash
# System packages Taller needs on a Debian machine; installs only what is missing.
# Without root it only reports what is missing.
set -euo pipefail

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)      # the sandbox
command -v ip >/dev/null || need+=(iproute2)           # per-run network namespaces
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v curl >/dev/null || need+=(curl)            # tests run the curl commands feedback shows
# npm compiles Dolos's tree-sitter parsers (tools/similarity) with node-gyp.
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Taller needs these system packages: ${need[*]} (install them with your package manager)." >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
