# Unix sockets of host services: path sockets are not mounted, abstract ones are per netns.
import os
import socket

for path in [
    "/var/run/postgresql/.s.PGSQL.5432",
    "/run/postgresql/.s.PGSQL.5432",
    "/tmp/.s.PGSQL.5432",
    "/var/run/redis/redis-server.sock",
    "/run/systemd/private",
    "/var/run/docker.sock",
    "\0/org/freedesktop/systemd1/private",
]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        print(repr(path), "CONNECTED")
    except OSError as e:
        print(repr(path), e.__class__.__name__, e.errno)
    finally:
        s.close()
with open("/proc/net/unix") as f:
    print("UNIX", f.read().count("\n") - 1)
print("IFACES", os.listdir("/sys/class/net") if os.path.isdir("/sys/class/net") else "none")
