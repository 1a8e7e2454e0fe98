"""A build's cache, made once by the platform and copied into every run (ssr's `.next/cache`).

A production build repeats the same work in every run: Turbopack compiles React, Next's
client runtime and its page templates before it reaches the student's two pages (5 of
the 6.5 s of CPU of a clean build here; with the cache, 1.3 s). An exercise names the
directory its build fills (`[run] build_cache`) and, in its grader folder, an app to fill
it from (`graders/<slug>/cache-seed/`). The platform builds that app once per grader
version and runtime, in a sandbox like any run's, and keeps what the build left there:
root-owned, in the sandbox's state dir, never mounted into a run. Each run gets its own
copy in its work dir before its programs start, so what a student's build writes there
stays in that run and no run can change what another gets. The framework checks every
cached entry against the sources it reads, so a stale entry costs a rebuild of that
module, never a wrong one.

Not the reference solution: a cache holds the compiled code of the app it came from, and a
student's program may read its own work dir (and print it). The seed is an app of the
grader's that gives nothing away.

Any failure here only costs speed: the run goes on without the cache (and this worker
does not try that seed again).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from taller_grader import sandbox as sandbox_mod
from taller_grader.sandbox import files, netns
from taller_grader.sandbox.api import Program, SandboxError, SubmissionRejected
from taller_grader.sandbox.bwrap import default_state_dir

if TYPE_CHECKING:
    from taller_grader.runner import ExerciseSpec, RunnerConfig

log = logging.getLogger(__name__)
STORE = "build-cache"
# What a seed's cache may hold (a Next.js cache of a small app is ~10 MB).
MAX_BYTES = 256 * 1024 * 1024
MAX_FILES = 10_000
# Seeds of a slug's other versions are removed once unused this long.
KEEP_UNUSED_SECONDS = 24 * 3600
_failed: set[str] = set()
# This worker process's copy of the seeds it used last (~10 MB each), by key: a run then
# only writes its copy (~15 ms) instead of reading the store first (~25 ms more).
_loaded: dict[str, list[files.Entry]] = {}
KEEP_LOADED = 2


def entries_for(
    spec: ExerciseSpec, config: RunnerConfig, inject: Mapping[str, bytes]
) -> list[files.Entry]:
    """The cache's files for a run of `spec` (made now if this is the first run); [] when
    the exercise has none or it could not be made. `inject`: the grader's files as a run
    gets them (the build script), by their path in the work dir."""
    if not spec.build_cache or not spec.cache_seed:
        return []
    store = (config.state_dir or default_state_dir()) / STORE
    key = _key(spec, config, inject)
    if key in _failed:
        return []
    target = store / key
    if key in _loaded:
        with contextlib.suppress(OSError):
            os.utime(target)
        return _loaded[key]
    try:
        if not target.is_dir():
            store.mkdir(mode=0o755, parents=True, exist_ok=True)
            with open(store / f".{key}.lock", "w") as lock:
                # Another worker process may be making it: wait for it instead of building twice.
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not target.is_dir():
                    _make(spec, config, inject, store, key)
        os.utime(target)
        entries = _read_tree(target)
    except (OSError, SandboxError, SubmissionRejected) as exc:
        _failed.add(key)
        log.warning("%s: no build cache for this worker's runs: %s", spec.slug, exc)
        return []
    while len(_loaded) >= KEEP_LOADED:
        del _loaded[next(iter(_loaded))]
    _loaded[key] = entries
    return entries


def put(workdir: Path, spec: ExerciseSpec, entries: list[files.Entry]) -> None:
    """Copy the cache into a run's work dir, owned as the submission's files are; left out
    if the submission brings files of its own there."""
    if not entries or not spec.build_cache:
        return
    prefix = files.split_name(spec.build_cache)
    # No program of the run has started yet: what is there is the submission's.
    if os.path.lexists(workdir.joinpath(*prefix)):
        log.info("%s: the submission has its own %s; no cache copied", spec.slug, spec.build_cache)
        return
    owner = os.stat(workdir)
    try:
        files.write_tree(
            workdir, [(prefix + parts, data) for parts, data in entries], owner.st_uid, owner.st_gid
        )
    except (FileExistsError, NotADirectoryError):
        # A file of the submission's where the cache has a folder (or the reverse).
        log.info("%s: the submission's files are in the way of %s", spec.slug, spec.build_cache)


def _key(spec: ExerciseSpec, config: RunnerConfig, inject: Mapping[str, bytes]) -> str:
    """What the cache's content depends on: the seed, the build's script and environment,
    the runtime's modules and node."""
    node = os.stat("/usr/bin/node") if os.path.exists("/usr/bin/node") else None
    lock = config.runtime_dir / "package-lock.json"
    described = json.dumps(
        {
            "path": spec.build_cache,
            "seed": sorted(spec.cache_seed.items()),
            "inject": sorted((k, hashlib.sha256(v).hexdigest()) for k, v in inject.items()),
            "programs": [[p.name, p.command, sorted(p.env.items()), p.cwd] for p in spec.programs],
            "env": sorted(spec.env.items()),
            "runtime": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else "",
            "node": [node.st_size, node.st_mtime_ns] if node else None,
            "backend": [config.sandbox_backend, os.environ.get("TALLER_RUNTIME_IMAGE", "")],
        },
        sort_keys=True,
    )
    return f"{spec.slug}-{hashlib.sha256(described.encode()).hexdigest()[:20]}"


def _make(
    spec: ExerciseSpec,
    config: RunnerConfig,
    inject: Mapping[str, bytes],
    store: Path,
    key: str,
) -> None:
    """Build the seed in a sandbox, as a run would, and keep what its build left."""
    assert spec.build_cache is not None
    started = time.monotonic()
    seed = {**{name: text.encode() for name, text in spec.cache_seed.items()}, **inject}
    env = {**spec.env, **{name: secrets.token_urlsafe(24) for name in spec.secrets}}
    with sandbox_mod.open_sandbox(
        seed,
        spec.limits,
        runtime_dir=config.runtime_dir,
        state_dir=config.state_dir,
        backend=config.sandbox_backend,
        docker_url=config.docker_url,
    ) as sandbox:
        deadline = time.monotonic() + spec.startup_seconds
        started_programs: list[Program] = []
        for program_spec in spec.programs:
            if not program_spec.autostart:
                continue
            program_env = {**env, **program_spec.env}
            if program_spec.port is not None:
                program_env["PORT"] = str(program_spec.port)
            program = sandbox.start(
                list(program_spec.command),
                env=program_env,
                cwd=program_spec.cwd,
                name=program_spec.name,
            )
            started_programs.append(program)
            # Ready (listening) means built: the cache is complete.
            while program_spec.port is not None and not netns.port_open(
                sandbox.netns_path, program_spec.port
            ):
                if program.wait(0.05) is not None or time.monotonic() > deadline:
                    raise SandboxError(
                        f"the cache seed's {program_spec.name} did not start: "
                        f"{program.output().stderr[-2000:]}"
                    )
        # Nothing writes while it is read: the tmpfs goes with the sandbox, after.
        for seed_program in started_programs:
            seed_program.kill()
            seed_program.wait(5)
        entries = _read_tree(sandbox.workdir, files.split_name(spec.build_cache))
    if not entries:
        raise SandboxError(f"the seed's build left nothing in {spec.build_cache}")
    partial = store / f".{key}.{secrets.token_hex(4)}"
    partial.mkdir(mode=0o755)
    try:
        files.write_tree(partial, entries, 0, 0)
        partial.rename(store / key)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info(
        "%s: build cache made in %.1f s (%d files, %.1f MB)",
        spec.slug,
        time.monotonic() - started,
        len(entries),
        sum(len(data) for _, data in entries) / 1e6,
    )
    _prune(store, spec.slug, key)


def _read_tree(root: Path, parts: tuple[str, ...] = ()) -> list[files.Entry]:
    """Regular files under `root`/`parts`, by path parts below it; links and anything
    else left out, never followed (a seed's build wrote them)."""
    entries: list[files.Entry] = []
    total = 0

    def walk(dir_fd: int, prefix: tuple[str, ...]) -> None:
        nonlocal total
        for name in sorted(os.listdir(dir_fd)):
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
            if stat.S_ISDIR(info.st_mode):
                child = os.open(name, flags | os.O_DIRECTORY, dir_fd=dir_fd)
                try:
                    walk(child, (*prefix, name))
                finally:
                    os.close(child)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > MAX_BYTES or len(entries) >= MAX_FILES:
                    raise SandboxError(f"{root}: over {MAX_BYTES} bytes or {MAX_FILES} files")
                fd = os.open(name, flags, dir_fd=dir_fd)
                with os.fdopen(fd, "rb") as handle:
                    entries.append(((*prefix, name), handle.read(MAX_BYTES + 1)))

    try:
        with files._walk(root, parts) as dir_fd:
            walk(dir_fd, ())
    except FileNotFoundError:
        return []
    return entries


def _prune(store: Path, slug: str, keep: str) -> None:
    """Remove the seeds of the slug's other versions that no run used for a day."""
    now = time.time()
    for entry in store.iterdir():
        if entry.name == keep or not entry.name.startswith(f"{slug}-"):
            continue
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > KEEP_UNUSED_SECONDS:
                shutil.rmtree(entry)
                (store / f".{entry.name}.lock").unlink(missing_ok=True)
