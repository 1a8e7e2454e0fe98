#!/usr/bin/env bash
# The browser the browser tests drive: Debian's Chromium (Playwright cannot download its
# own here). Installs it when missing and we are root; prints its path; exits 1 with the
# reason on stderr when it cannot be had.
set -euo pipefail

find_chromium() {
  for candidate in "${TALLER_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if find_chromium; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Chromium is not installed and cannot be installed here (needs root and apt-get): apt-get install chromium" >&2
  exit 1
fi
echo "Installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
{
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
} >&2 || {
  echo "apt-get install chromium failed" >&2
  exit 1
}
find_chromium || { echo "chromium installed but not found on the expected paths" >&2; exit 1; }
