#!/usr/bin/env bash
# Start, stop or check the project's podman API service (the Docker-compatible socket
# the `docker` sandbox backend talks to). Root only: containers need real cgroups.
#   scripts/podman-service.sh start|stop|status
# The socket is $TALLER_PODMAN_SOCK (default /run/taller-podman/podman.sock).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"
pidfile="$TALLER_PODMAN_RUN/service.pid"
logfile="$TALLER_PODMAN_RUN/service.log"

answering() {
  curl -sf --max-time 2 --unix-socket "$TALLER_PODMAN_SOCK" http://d/_ping >/dev/null 2>&1
}

case "${1:-start}" in
  start)
    [ "$(id -u)" -eq 0 ] || { echo "podman-service.sh: run it as root" >&2; exit 1; }
    command -v podman >/dev/null && command -v runc >/dev/null || {
      echo "podman-service.sh: apt-get install podman runc" >&2; exit 1; }
    podman_setup
    if answering; then echo "podman service already answers at $TALLER_PODMAN_SOCK"; exit 0; fi
    rm -f "$TALLER_PODMAN_SOCK"
    # setsid + nohup: the service outlives the shell that started it. Its own dir as
    # cwd: conmon drops files there (an empty `oom` after an OOM kill).
    cd "$TALLER_PODMAN_RUN"
    setsid nohup podman "${PODMAN_FLAGS[@]}" system service --time=0 \
      "unix://$TALLER_PODMAN_SOCK" >"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 100); do
      if answering; then echo "podman service answers at $TALLER_PODMAN_SOCK"; exit 0; fi
      sleep 0.1
    done
    echo "podman service did not answer; see $logfile" >&2
    tail -20 "$logfile" >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$pidfile"
    fi
    rm -f "$TALLER_PODMAN_SOCK"
    echo "podman service stopped"
    ;;
  status)
    if answering; then echo "answering at $TALLER_PODMAN_SOCK"; else echo "not answering"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
