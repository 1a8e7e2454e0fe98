"""Pieces that need no root: file rules, cgroup v2 writes on a fake tree, the filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taller_grader.sandbox import Limits, SubmissionRejected, cgroups, files, seccomp

from .conftest import RUNTIME

SHARED = frozenset({"express", "pg", "jsonwebtoken"})


def test_shared_modules_come_from_the_runtime_manifest() -> None:
    names = files.shared_modules(RUNTIME)
    assert {"express", "pg", "jsonwebtoken", "mongoose", "amqplib", "next", "react"} <= names


@pytest.mark.parametrize("name", ["server.js", "pages/index.js", "a/b/c.mjs", "ñandú.js"])
def test_good_names(name: str) -> None:
    assert "/".join(files.split_name(name)) == name


def test_limits_on_count_and_size() -> None:
    limits = Limits(max_files=2, max_file_bytes=10, max_total_bytes=15)
    with pytest.raises(SubmissionRejected, match="Demasiados"):
        files.validate({"a": b"", "b": b"", "c": b""}, limits, SHARED)
    with pytest.raises(SubmissionRejected, match="demasiado grande"):
        files.validate({"a": b"x" * 11}, limits, SHARED)
    with pytest.raises(SubmissionRejected, match="en total"):
        files.validate({"a": b"x" * 10, "b": b"x" * 10}, limits, SHARED)


def test_file_and_directory_clash() -> None:
    with pytest.raises(SubmissionRejected, match="a la vez"):
        files.validate({"a": b"", "a/b": b""}, Limits(), SHARED)


def test_package_json_rules() -> None:
    ok = b'{"type": "module", "dependencies": {"express": "^5"}, "scripts": {"x": "rm -rf /"}}'
    files.validate({"package.json": ok}, Limits(), SHARED)
    for bad, message in [
        (b'{"devDependencies": {"lodash": "1"}}', '"lodash"'),
        (b'{"dependencies": {"@evil/x": "1"}}', '"@evil/x"'),
        (b"not json", "JSON"),
        (b"[]", "objeto"),
        (b'{"dependencies": ["express"]}', "objeto"),
    ]:
        with pytest.raises(SubmissionRejected, match=message):
            files.validate({"sub/package.json": bad}, Limits(), SHARED)


def test_write_and_read_back_refuse_links(tmp_path: Path) -> None:
    entries = files.validate({"a/b/c.js": b"1", "a/d.js": b"2"}, Limits(), SHARED)
    files.write_tree(tmp_path, entries, os.getuid(), os.getgid())
    assert files.read_file(tmp_path, "a/b/c.js") == b"1"
    os.symlink("/etc/hostname", tmp_path / "link")
    os.symlink("/etc", tmp_path / "dirlink")
    os.mkfifo(tmp_path / "fifo")
    for name in ("link", "dirlink/hostname"):
        with pytest.raises(OSError):
            files.read_file(tmp_path, name)
    with pytest.raises(ValueError):
        files.read_file(tmp_path, "fifo")  # and it did not block
    # A link planted where a submitted file goes is never written through.
    target = tmp_path / "outside.txt"
    os.symlink(target, tmp_path / "x.js")
    with pytest.raises(FileExistsError):
        files.write_tree(tmp_path, files.validate({"x.js": b"2"}, Limits(), SHARED), 0, 0)
    assert not target.exists()


def _fake_v2(tmp_path: Path) -> cgroups.Layout:
    root = tmp_path / "unified"
    worker = root / "taller.slice"
    worker.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (worker / "cgroup.subtree_control").write_text("")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"41 31 0:38 / {root} rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n")
    own = tmp_path / "cgroup"
    own.write_text("0::/taller.slice\n")
    return cgroups.detect(str(mountinfo), str(own))


def test_cgroup_v2_is_detected_and_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The files written and the counters read, on a fake tree; the real kernel's are
    # exercised by scripts/cgroup2-vm.sh, which runs this suite on a cgroup v2 kernel
    # (where the worker itself names its delegated parent: not this fake one's).
    monkeypatch.delenv("TALLER_CGROUP_PARENT", raising=False)
    layout = _fake_v2(tmp_path)
    assert layout.version == 2
    group = cgroups.create(layout, "taller-1-abc", Limits(memory_mb=256, pids=64, cpus=0.5))
    assert isinstance(group, cgroups.CgroupV2)
    path = tmp_path / "unified" / "taller.slice" / "taller-1-abc"
    assert (path / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "pids.max").read_text() == "64"
    assert (path / "cpu.max").read_text() == "50000 100000"
    subtree = (tmp_path / "unified" / "taller.slice" / "cgroup.subtree_control").read_text()
    assert subtree == "+cpu +memory +pids"
    assert group.procs_files == [str(path / "cgroup.procs")]
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (path / "pids.events").write_text("max 7\n")
    (path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert (group.oom_kills(), group.pids_refusals(), group.cpu_seconds()) == (1, 7, 2.5)
    group.kill()
    assert (path / "cgroup.kill").read_text() == "1"


def test_cgroup_v2_parent_can_be_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLER_CGROUP_PARENT", "/delegated")
    layout = _fake_v2(tmp_path)
    assert layout.hierarchies["unified"].parent == tmp_path / "unified" / "delegated"


def test_cgroup_v1_layout_is_detected(tmp_path: Path) -> None:
    lines, own = [], ["0::/"]
    for n, controller in enumerate(["cpu,cpuacct", "memory", "pids", "freezer"]):
        (tmp_path / controller).mkdir()
        lines.append(
            f"{30 + n} 23 0:{30 + n} / {tmp_path / controller} rw - cgroup cgroup rw,{controller}"
        )
        own.append(f"{n + 1}:{controller}:/worker")
    (tmp_path / "mountinfo").write_text("\n".join(lines) + "\n")
    (tmp_path / "cgroup").write_text("\n".join(own) + "\n")
    layout = cgroups.detect(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup"))
    assert layout.version == 1
    assert layout.hierarchies["cpuacct"].parent == tmp_path / "cpu,cpuacct" / "worker"
    assert layout.hierarchies["memory"].parent == tmp_path / "memory" / "worker"
    assert "unified" not in layout.hierarchies


def test_run_names() -> None:
    assert cgroups.is_run_name("taller-123-abc_1", "taller-")
    for other in ("taller-x-1", "taller-123", "taller-1-a/b", "other-1-a", "taller-1-a b"):
        assert not cgroups.is_run_name(other, "taller-")


def test_seccomp_filter_builds() -> None:
    program = seccomp.filter_bpf()
    assert len(program) % 8 == 0 and len(program) > 100
    fd = seccomp.filter_fd()
    try:
        assert os.read(fd, len(program) + 1) == program
    finally:
        os.close(fd)
