"""Starts SecantusDB servers by fork from one process that has already imported it.

Run by the runner as `<mongo venv>/bin/python mongo_launcher.py` (a program of its own,
in the server's virtualenv; it imports nothing of the platform). Importing SecantusDB
takes ~0.4 s (numpy and shapely for its geo commands) of its ~0.5 s start; a fork from
an imported parent starts a server in a few tens of ms.

Protocol, one JSON object per line. On start it prints `{"ready": true}`. Each request
`{"argv": [...], "netns": path, "uid": int|null, "gid": int|null, "cwd": dir,
"log": file, "env": {...}}` is answered with `{"pid": n}` or `{"error": text}`. The child
joins `netns`, becomes a session leader, drops to uid/gid, and runs the server as
`secantusd-py <argv>` would. Children are reaped by the kernel (SIGCHLD ignored): the
runner stops a server by killing its process group. The launcher exits when its stdin
closes; the servers it started live on until killed (the runner's janitor finds them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import sys
import traceback

# Before numpy loads: its BLAS would start threads, and a fork copies only one thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The slow imports, done once here rather than in every server.
import secantus.cli
import secantus.commands
import secantus.server

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _child(req: dict[str, object]) -> None:
    """In the forked child: never returns."""
    code = 70
    try:
        os.setsid()
        log = os.open(str(req["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        fd = os.open(str(req["netns"]), os.O_RDONLY | os.O_CLOEXEC)
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)
        uid, gid = req.get("uid"), req.get("gid")
        if isinstance(gid, int):
            os.setgroups([])
            os.setresgid(gid, gid, gid)
        if isinstance(uid, int):
            os.setresuid(uid, uid, uid)
        os.chdir(str(req["cwd"]))
        env = req.get("env")
        os.environ.clear()
        if isinstance(env, dict):
            os.environ.update({str(k): str(v) for k, v in env.items()})
        argv = req["argv"]
        assert isinstance(argv, list)
        sys.argv = ["secantusd-py", *map(str, argv)]
        code = secantus.cli.main([str(a) for a in argv]) or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            req = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(req)
            reply: dict[str, object] = {"pid": pid}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
