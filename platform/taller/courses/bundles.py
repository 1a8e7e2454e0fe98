"""Instructors' grader bundles: a zip with `exercises/<slug>/` and `graders/<slug>/`.

Unpacked defensively (the zip is untrusted input): no links, no absolute paths, no `..`,
bounded count and sizes checked against what is actually decompressed, then loaded with
the same validation as the course on disk.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from taller.courses.content import ContentError, ExerciseContent, load_exercise

MAX_FILES = 500
MAX_FILE_BYTES = 512 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024
_ROOTS = {"exercises", "graders"}


class BundleError(ValueError):
    """A bundle that cannot be accepted; the message says which entry and why."""


def _members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise BundleError(f"the bundle has {len(infos)} entries; at most {MAX_FILES}")
    members = []
    for info in infos:
        name = info.filename
        path = PurePosixPath(name)
        if "\\" in name or "\0" in name or path.is_absolute() or ".." in path.parts:
            raise BundleError(f"{name!r}: names must be relative paths inside the bundle")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(f"{name!r}: links are not allowed")
        if info.is_dir():
            continue
        if info.file_size > MAX_FILE_BYTES:
            raise BundleError(f"{name!r}: larger than {MAX_FILE_BYTES} bytes")
        members.append((info, path))
    # A common top folder (a zipped directory) is allowed: `curso/exercises/x/...`.
    tops = {p.parts[0] for _, p in members}
    if len(tops) == 1 and not tops & _ROOTS:
        members = [(i, PurePosixPath(*p.parts[1:])) for i, p in members if len(p.parts) > 1]
    return members


def unpack(upload: BinaryIO, into: Path) -> str:
    """Write the bundle's files under `into`; return the exercise's slug."""
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise BundleError("the file is not a zip archive") from None
    with archive:
        members = _members(archive)
        slugs = {
            p.parts[1]
            for _, p in members
            if len(p.parts) > 2 and p.parts[0] in {"exercises", "graders"}
        }
        if len(slugs) != 1:
            raise BundleError(
                "the bundle must hold exactly one exercise: exercises/<slug>/ and graders/<slug>/"
            )
        total = 0
        for info, path in members:
            if path.parts[0] not in {"exercises", "graders"} or len(path.parts) < 3:
                raise BundleError(
                    f"{info.filename!r}: outside exercises/<slug>/ and graders/<slug>/"
                )
            target = into.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Count what is really decompressed: the header's size can lie (zip bombs).
            with archive.open(info) as source, open(target, "xb") as sink:
                while chunk := source.read(65536):
                    total += len(chunk)
                    if total > MAX_TOTAL_BYTES:
                        raise BundleError(
                            f"the bundle unpacks to more than {MAX_TOTAL_BYTES} bytes"
                        )
                    sink.write(chunk)
        return slugs.pop()


def load_bundle(upload: BinaryIO) -> ExerciseContent:
    """The exercise in a bundle, validated like the course on disk."""
    with tempfile.TemporaryDirectory(prefix="taller-bundle-") as tmp:
        root = Path(tmp)
        slug = unpack(upload, root)
        try:
            return load_exercise(root / "exercises" / slug, root / "graders")
        except ContentError as exc:
            raise BundleError(str(exc).replace(tmp + "/", "")) from None
