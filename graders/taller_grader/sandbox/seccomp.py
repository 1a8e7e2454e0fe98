"""The seccomp rules of both backends: deny what a Node.js server never needs.

bubblewrap gets a BPF filter (`filter_fd`): everything else is allowed (a denylist):
Node, V8 and libuv use a wide and changing set of system calls, and the namespaces,
cgroups and the unprivileged user already bound what the rest can do. Denied calls fail
with EPERM rather than killing the process, so a student sees an ordinary error.
Containers get a profile (`container_profile`): the engines' allowlist minus the same
calls, so that both backends give a student the same errors.
"""

from __future__ import annotations

import errno
import functools
import json
import operator
import os
from pathlib import Path
from typing import Any

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


# The engines' default profile, as shipped by containers/common 0.50 (Apache-2.0), is the
# base: an allowlist. Podman's default lets any process unshare() a user namespace (it
# gates nothing on CAP_SYS_ADMIN), which the bubblewrap backend refuses; the calls that
# backend denies are denied here too.
CONTAINER_BASE = Path(__file__).with_name("seccomp-base.json")


@functools.cache
def container_profile() -> str:
    """The profile's JSON: the base minus `DENIED`, clone without namespaces."""
    base = json.loads(CONTAINER_BASE.read_text(encoding="utf-8"))
    removed = {*DENIED, "clone", "clone3"}
    syscalls: list[dict[str, Any]] = []
    for entry in base["syscalls"]:
        names = [name for name in entry["names"] if name not in removed]
        if names:
            syscalls.append({**entry, "names": names})
    mask = functools.reduce(operator.or_, NAMESPACE_FLAGS)
    syscalls.append({"names": sorted(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM})
    # clone's flags are its first argument on x86-64 and arm64 (not on s390).
    syscalls.append(
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": mask, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
        }
    )
    syscalls += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno.EPERM,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for flag in NAMESPACE_FLAGS
    ]
    # clone3 hides its flags from seccomp; ENOSYS makes glibc fall back to clone().
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    return json.dumps({**base, "syscalls": syscalls}, sort_keys=True)
