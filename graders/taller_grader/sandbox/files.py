"""Submitted files: validate names and sizes, check package.json, write and read safely.

Nothing here follows a symbolic link. Writing uses directory fds and
O_NOFOLLOW|O_EXCL, reading back walks one component at a time with O_NOFOLLOW, so a
link planted by the program (the Judge0 CVE-2024-28185/28189 class of escape) makes
the host refuse, never act on a path outside the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from taller_grader.sandbox.api import Limits, SubmissionRejected

MAX_DEPTH = 16
MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 1024
_DEPENDENCY_FIELDS = (
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
)

Entry = tuple[tuple[str, ...], bytes]


def shared_modules(runtime_dir: Path) -> frozenset[str]:
    """The module names every submission may use: runtime/package.json's dependencies."""
    manifest = json.loads((runtime_dir / "package.json").read_text(encoding="utf-8"))
    return frozenset(manifest.get("dependencies", {}))


# Why a submission is refused, by code; `%(…)s` are the parameters. The platform shows
# these words in the student's language (taller.submissions.messages keeps the same
# templates as its translatable strings); here, with no Django, they are Spanish.
MESSAGES = {
    "no_name": "Un archivo no tiene nombre.",
    "control": "Nombre de archivo no permitido: %(name)s lleva un carácter de control.",
    "backslash": "Nombre de archivo no permitido: %(name)s lleva «\\»; separa las carpetas "
    "con «/».",
    "absolute": "Nombre de archivo no permitido: %(name)s es absoluto; usa una ruta relativa.",
    "not_utf8": "Nombre de archivo no permitido: %(name)s no es UTF-8 válido.",
    "path_too_long": "Nombre de archivo demasiado largo: %(name)s ocupa %(bytes)s bytes "
    "(máximo %(max)s).",
    "too_deep": "Demasiadas carpetas anidadas: %(name)s (máximo %(max)s niveles).",
    "bad_part": "Nombre de archivo no permitido: %(name)s tiene una parte vacía, «.» o «..».",
    "part_too_long": "Nombre de archivo demasiado largo: %(name)s tiene una parte de más de "
    "%(max)s bytes.",
    "node_modules": "No se puede enviar node_modules (%(name)s): los módulos los pone la "
    "plataforma.",
    "package_not_json": "%(name)s no es un JSON válido.",
    "package_not_object": "%(name)s debe ser un objeto JSON.",
    "package_field": '%(name)s: "%(field)s" debe ser un objeto.',
    "package_module": '%(name)s: el módulo "%(module)s" no está disponible. Solo se pueden '
    "usar los módulos de Node.js y: %(allowed)s.",
    "too_many_files": "Demasiados archivos: %(count)s (el máximo es %(max)s).",
    "not_bytes": "Contenido no válido en %(name)s.",
    "file_too_big": "%(name)s es demasiado grande (%(bytes)s bytes; máximo %(max)s).",
    "total_too_big": "La entrega es demasiado grande (máximo %(max)s bytes en total).",
    "file_and_folder": "%(name)s es a la vez archivo y carpeta.",
    # The runner's own rule: the folder it writes the exercise's files into.
    "reserved": "%(name)s: la carpeta %(folder)s/ está reservada para el corrector",
}


def reject(code: str, **params: object) -> SubmissionRejected:
    """A refusal for one of the rules above: its words, its code and its parameters."""
    return SubmissionRejected(MESSAGES[code] % params, code=code, params=params)


def split_name(name: object) -> tuple[str, ...]:
    """The components of a submitted relative name, or SubmissionRejected.

    The one rule for file names: the site applies it before it stores a submission
    (taller.submissions.services), the sandbox again before it writes one. Each refusal
    names the file and says why.
    """
    if not isinstance(name, str) or not name:
        raise reject("no_name")
    shown = repr(name[:80]) + ("…" if len(name) > 80 else "")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in name):
        raise reject("control", name=shown)
    if "\\" in name:
        raise reject("backslash", name=shown)
    if name.startswith("/"):
        raise reject("absolute", name=shown)
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise reject("not_utf8", name=shown) from None
    if len(encoded) > MAX_PATH_BYTES:
        raise reject("path_too_long", name=shown, bytes=len(encoded), max=MAX_PATH_BYTES)
    parts = tuple(name.split("/"))
    if len(parts) > MAX_DEPTH:
        raise reject("too_deep", name=shown, max=MAX_DEPTH)
    for part in parts:
        if part in ("", ".", ".."):
            raise reject("bad_part", name=shown)
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise reject("part_too_long", name=shown, max=MAX_COMPONENT_BYTES)
        if part.casefold() == "node_modules":
            raise reject("node_modules", name=shown)
    return parts


def check_package_json(name: str, data: bytes, shared: frozenset[str]) -> None:
    """Refuse a package.json naming a module outside the shared set. Scripts never run."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise reject("package_not_json", name=name) from None
    if not isinstance(manifest, dict):
        raise reject("package_not_object", name=name)
    for field in _DEPENDENCY_FIELDS:
        deps = manifest.get(field)
        if deps is None:
            continue
        if not isinstance(deps, dict):
            raise reject("package_field", name=name, field=field)
        for module in deps:
            if module not in shared:
                allowed = ", ".join(sorted(shared))
                raise reject("package_module", name=name, module=module, allowed=allowed)


def validate(files: Mapping[str, bytes], limits: Limits, shared: frozenset[str]) -> list[Entry]:
    """Check every rule before anything is written; return (components, data) pairs."""
    if len(files) > limits.max_files:
        raise reject("too_many_files", count=len(files), max=limits.max_files)
    entries: list[Entry] = []
    total = 0
    for name, data in files.items():
        parts = split_name(name)
        if not isinstance(data, bytes | bytearray):
            raise reject("not_bytes", name=repr(name))
        if len(data) > limits.max_file_bytes:
            raise reject("file_too_big", name=name, bytes=len(data), max=limits.max_file_bytes)
        total += len(data)
        if total > limits.max_total_bytes:
            raise reject("total_too_big", max=limits.max_total_bytes)
        if parts[-1] == "package.json":
            check_package_json(name, bytes(data), shared)
        entries.append((parts, bytes(data)))
    names = {parts for parts, _ in entries}
    for parts, _ in entries:
        for depth in range(1, len(parts)):
            if parts[:depth] in names:
                raise reject("file_and_folder", name="/".join(parts[:depth]))
    return entries


def _open_dir(name: str, dir_fd: int) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def write_tree(root: Path, entries: list[Entry], uid: int, gid: int) -> None:
    """Write validated entries under `root`, owned by the sandbox's host uid."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for parts, data in entries:
            dir_fd = os.dup(root_fd)
            try:
                for part in parts[:-1]:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=dir_fd)
                        child = _open_dir(part, dir_fd)
                        os.fchown(child, uid, gid)
                        os.close(child)
                    child = _open_dir(part, dir_fd)
                    os.close(dir_fd)
                    dir_fd = child
                fd = os.open(
                    parts[-1],
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=dir_fd,
                )
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fchown(fd, uid, gid)
                finally:
                    os.close(fd)
            finally:
                os.close(dir_fd)
    finally:
        os.close(root_fd)


@contextlib.contextmanager
def _walk(root: Path, parts: tuple[str, ...]) -> Iterator[int]:
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for part in parts:
            child = _open_dir(part, dir_fd)
            os.close(dir_fd)
            dir_fd = child
        yield dir_fd
    finally:
        os.close(dir_fd)


def read_file(root: Path, name: str, max_bytes: int = 1024 * 1024) -> bytes:
    """Read a regular file the program may have written; links and specials refused.

    Raises OSError (ELOOP/ENOTDIR for a link, ENOENT) or ValueError (not a regular file).
    """
    parts = split_name(name)
    with _walk(root, parts[:-1]) as dir_fd:
        fd = os.open(
            parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{name} is not a regular file")
        chunks: list[bytes] = []
        left = max_bytes
        while left > 0 and (chunk := os.read(fd, min(left, 65536))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
