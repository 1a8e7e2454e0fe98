"""The seccomp filter handed to bwrap: deny what a Node.js server never needs.

Everything else is allowed (a denylist): Node, V8 and libuv use a wide and changing set
of system calls, and the namespaces, cgroups and the unprivileged user already bound
what the rest can do. Denied calls fail with EPERM rather than killing the process, so a
student sees an ordinary error.
"""

from __future__ import annotations

import errno
import functools
import os

import pyseccomp as seccomp

from taller_grader.sandbox import _libc

DENIED = (
    # other processes and the kernel
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "lookup_dcookie",
    "syslog",
    "acct",
    "swapon",
    "swapoff",
    "quotactl",
    "vhangup",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "open_by_handle_at",
    "name_to_handle_at",
    # keyrings
    "keyctl",
    "add_key",
    "request_key",
    # io_uring bypasses seccomp for the operations it performs
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # namespaces and mounts
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
)

NAMESPACE_FLAGS = (
    _libc.CLONE_NEWNS,
    _libc.CLONE_NEWCGROUP,
    _libc.CLONE_NEWUTS,
    _libc.CLONE_NEWIPC,
    _libc.CLONE_NEWUSER,
    _libc.CLONE_NEWPID,
    _libc.CLONE_NEWNET,
    _libc.CLONE_NEWTIME,
)
_TIOCSTI = 0x5412


@functools.cache
def filter_bpf() -> bytes:
    """The compiled BPF program, built once per worker."""
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            rules.add_rule(deny, name)
        except (OSError, RuntimeError, ValueError):
            continue  # a call this kernel/arch does not have cannot be used either
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory that seccomp cannot read; ENOSYS makes glibc fall
    # back to clone(), whose flags the rules above can see.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # Faking terminal input would reach the grader's terminal if one were ever shared.
    rules.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    with os.fdopen(os.memfd_create("taller-seccomp-build", os.MFD_CLOEXEC), "w+b") as buf:
        rules.export_bpf(buf)
        buf.seek(0)
        return buf.read()


def filter_fd() -> int:
    """A fresh fd holding the filter at offset 0, for `bwrap --seccomp FD`."""
    fd = os.memfd_create("taller-seccomp", os.MFD_CLOEXEC)
    data = filter_bpf()
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
