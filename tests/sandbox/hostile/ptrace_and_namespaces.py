# System calls the seccomp filter denies; each must fail with EPERM (or ENOSYS for clone3).
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
calls = {
    "ptrace_attach_1": (101, 16, 1, 0, 0),           # ptrace(PTRACE_ATTACH, 1)
    "ptrace_traceme": (101, 0, 0, 0, 0),
    "unshare_user": (272, 0x10000000),
    "unshare_net": (272, 0x40000000),
    "unshare_mount": (272, 0x00020000),
    "setns": (308, 0, 0),
    "mount": (165, 0, 0, 0, 0, 0),
    "bpf": (321, 0, 0, 0),
    "io_uring_setup": (425, 1, 0),
    "keyctl": (250, 0, 0),
    "add_key": (248, 0, 0, 0, 0, 0),
    "perf_event_open": (298, 0, 0, 0, 0, 0),
    "kexec_load": (246, 0, 0, 0, 0),
    "reboot": (169, 0, 0, 0, 0),
    "swapon": (167, 0, 0),
    "init_module": (175, 0, 0, 0),
    "clone_newpid": (56, 0x20000000 | 17, 0, 0, 0, 0),
    "clone3": (435, 0, 0),
    "userfaultfd": (323, 0),
}
for name, (nr, *args) in calls.items():
    ctypes.set_errno(0)
    result = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    print(name, result, os.strerror(ctypes.get_errno()) if result == -1 else "ALLOWED")
with open("/proc/self/status") as f:
    status = f.read().splitlines()
print([line for line in status if line.startswith(("Seccomp:", "NoNewPrivs:", "CapEff:"))])
