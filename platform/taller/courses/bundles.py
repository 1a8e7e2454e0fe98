"""Instructors' grader bundles: a zip with `exercises/<slug>/` and `graders/<slug>/`.

Unpacked defensively (the zip is untrusted input): no links, no absolute paths, no `..`,
no duplicate or clashing names, no encryption, only the usual compression methods,
bounded count and sizes checked against what is actually decompressed, then loaded with
the same validation as the course on disk. Any refusal is a BundleError that says which
entry and why; nothing is written outside a temporary folder before it is accepted.

The same path serves the site's upload, `manage.py check_bundle` (a zip or a folder,
zipped the same way first) and the round trip of a version downloaded as a zip.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from taller.courses.content import _IGNORED_PARTS, ContentError, ExerciseContent, load_exercise
from taller_grader.manifest import Manifest

MAX_FILES = 500
MAX_FILE_BYTES = 512 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024
_ROOTS = {"exercises", "graders"}
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


class BundleError(ValueError):
    """A bundle that cannot be accepted; the message says which entry and why."""


def _top_level(paths: list[PurePosixPath]) -> str:
    tops = sorted({p.parts[0] + ("/" if len(p.parts) > 1 else "") for p in paths if p.parts})
    return ", ".join(tops[:10]) + (" …" if len(tops) > 10 else "") if tops else _("(vacío)")


def _members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise BundleError(
            _("el paquete tiene %(n)s entradas; el máximo es %(max)s")
            % {"n": len(infos), "max": MAX_FILES}
        )
    members = []
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for info in infos:
        name = info.filename
        path = PurePosixPath(name)
        if (
            "\\" in name
            or "\0" in name
            or path.is_absolute()
            or ".." in path.parts
            or not path.parts
        ):
            raise BundleError(
                _("%(n)r: los nombres deben ser rutas relativas dentro del paquete") % {"n": name}
            )
        if len(name.encode("utf-8", "surrogateescape")) > 1000 or any(
            len(part.encode("utf-8", "surrogateescape")) > 255 for part in path.parts
        ):
            raise BundleError(
                _("%(n)r: el nombre es demasiado largo (255 bytes por parte, 1000 en total)")
                % {"n": name[:80]}
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(_("%(n)r: los enlaces no se admiten; copia el archivo") % {"n": name})
        folders.update(path.parents)
        if info.is_dir():
            folders.add(path)
            continue
        if info.flag_bits & 0x1:
            raise BundleError(
                _("%(n)r: está cifrado; sube el paquete sin contraseña") % {"n": name}
            )
        if info.compress_type not in _METHODS:
            raise BundleError(
                _(
                    "%(n)r: usa un método de compresión desconocido (%(m)s); comprime con "
                    "«deflate», el habitual"
                )
                % {"n": name, "m": info.compress_type}
            )
        if info.file_size > MAX_FILE_BYTES:
            raise BundleError(
                _("%(n)r: ocupa más de %(max)s bytes") % {"n": name, "max": MAX_FILE_BYTES}
            )
        if path in files:
            raise BundleError(_("%(n)r: aparece dos veces en el paquete") % {"n": name})
        files.add(path)
        members.append((info, path))
    for path in sorted(files & folders):
        raise BundleError(
            _("%(n)r: es a la vez un archivo y una carpeta en el paquete") % {"n": str(path)}
        )
    # A common top folder (a zipped directory) is allowed: `curso/exercises/x/...`.
    tops = {p.parts[0] for _, p in members}
    if len(tops) == 1 and not tops & _ROOTS and all(len(p.parts) > 1 for _, p in members):
        members = [(i, PurePosixPath(*p.parts[1:])) for i, p in members if len(p.parts) > 1]
    return members


def _no_exercise(members: list[tuple[zipfile.ZipInfo, PurePosixPath]], found: set[str]) -> str:
    paths = [p for _, p in members]
    message = _(
        "el paquete debe contener un solo ejercicio, en exercises/<slug>/ y "
        "graders/<slug>/; su nivel superior contiene: %(top)s"
    ) % {"top": _top_level(paths)}
    if len(found) > 1:
        message += ". " + _("Hay varios ejercicios: %(s)s; sube uno por paquete.") % {
            "s": ", ".join(sorted(found))
        }
    elif any(p.name == "manifest.toml" and len(p.parts) <= 2 for p in paths):
        message += ". " + _(
            "Parece la carpeta de un ejercicio sola: comprime una carpeta que contenga "
            "exercises/<slug>/ y graders/<slug>/ (o usa manage.py check_bundle con la carpeta)."
        )
    return message


def unpack(upload: BinaryIO, into: Path) -> str:
    """Write the bundle's files under `into`; return the exercise's slug."""
    try:
        archive = zipfile.ZipFile(upload)
    except Exception:
        # zipfile fails on hostile bytes in many undocumented ways (BadZipFile, struct
        # errors, NotImplementedError for a "zip file version 6.4"...): all mean this.
        raise BundleError(_("el archivo no es un zip válido")) from None
    with archive:
        members = _members(archive)
        slugs = {p.parts[1] for _, p in members if len(p.parts) > 2 and p.parts[0] in _ROOTS}
        if len(slugs) != 1:
            raise BundleError(_no_exercise(members, slugs))
        total = 0
        for info, path in members:
            if path.parts[0] not in _ROOTS or len(path.parts) < 3:
                raise BundleError(
                    _("%(n)r: está fuera de exercises/<slug>/ y graders/<slug>/")
                    % {"n": info.filename}
                )
            total += _extract(archive, info, into.joinpath(*path.parts), MAX_TOTAL_BYTES - total)
        return slugs.pop()


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, room: int) -> int:
    """Decompress one entry, counting what really comes out: a header's size can lie."""
    size = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, open(target, "xb") as sink:
            while chunk := source.read(65536):
                size += len(chunk)
                if size > room:
                    raise BundleError(
                        _("el paquete descomprimido ocupa más de %(max)s bytes")
                        % {"max": MAX_TOTAL_BYTES}
                    )
                if size > MAX_FILE_BYTES:
                    raise BundleError(
                        _("%(n)r: ocupa más de %(max)s bytes")
                        % {"n": info.filename, "max": MAX_FILE_BYTES}
                    )
                sink.write(chunk)
    except BundleError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, struct.error) as exc:
        # A bad CRC, a truncated stream, a header that does not match the data.
        raise BundleError(
            _("%(n)r: el zip está dañado (%(e)s); vuelve a crearlo")
            % {"n": info.filename, "e": exc}
        ) from None
    except (NotImplementedError, RuntimeError) as exc:
        raise BundleError(
            _("%(n)r: no se puede descomprimir (%(e)s)") % {"n": info.filename, "e": exc}
        ) from None
    if size != info.file_size:
        raise BundleError(
            _("%(n)r: la cabecera dice %(h)s bytes pero contiene %(s)s; el zip está dañado")
            % {"n": info.filename, "h": info.file_size, "s": size}
        )
    return size


def load_bundle(upload: BinaryIO) -> ExerciseContent:
    """The exercise in a bundle, validated like the course on disk."""
    with tempfile.TemporaryDirectory(prefix="taller-bundle-") as tmp:
        root = Path(tmp)
        slug = unpack(upload, root)
        try:
            return load_exercise(root / "exercises" / slug, root / "graders")
        except ContentError as exc:
            raise BundleError(str(exc).replace(tmp + "/", "")) from None


def zip_folder(folder: Path, graders: Path | None = None) -> bytes:
    """A folder zipped as the site expects a bundle, for `check_bundle` and the like.

    `folder` is either a bundle's root (holding exercises/ and graders/) or one
    exercise's folder (holding manifest.toml), whose suite is `graders/<name>` in the
    folder's course (`../../graders/`) unless `graders` names the graders' folder.
    Editor litter (node_modules, caches) is left out, as from the course on disk.
    """
    entries: dict[str, Path] = {}
    if (folder / "manifest.toml").is_file():
        slug = folder.name
        suite_root = (graders or folder.parent.parent / "graders") / slug
        if not suite_root.is_dir():
            raise BundleError(
                _(
                    "no se encontró la suite del corrector en %(p)s; indica la carpeta de "
                    "los correctores con --graders"
                )
                % {"p": suite_root}
            )
        entries.update(_walk(folder, f"exercises/{slug}"))
        entries.update(_walk(suite_root, f"graders/{slug}"))
    else:
        entries.update(_walk(folder, ""))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(entries.items()):
            archive.write(path, name)
    return buffer.getvalue()


def _walk(root: Path, prefix: str) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _IGNORED_PARTS for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_file() or path.is_symlink():
            found[(PurePosixPath(prefix) / rel.as_posix()).as_posix().lstrip("/")] = path
    return found


# A version back as a bundle -------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes are TOML's, but for DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_key(key: str) -> str:
    return (
        key
        if key.replace("_", "").replace("-", "").isalnum() and key.isascii()
        else json.dumps(key)
    )


def manifest_toml(manifest: Mapping[str, Any]) -> str:
    """A validated manifest (as stored, JSON) written back as manifest.toml."""
    # In the order the fields are documented, not the order the database kept them in.
    manifest = Manifest.model_validate(dict(manifest)).model_dump(mode="json")
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, list[Mapping[str, Any]]]] = []

    def emit(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            if value is None:
                continue  # TOML cannot say None: the field is left out, as written
            if isinstance(value, dict) and key != "env":
                tables.append((name, value))
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                arrays.append((name, value))
            else:
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")

    emit("", manifest)
    while tables or arrays:
        if tables:
            name, table = tables.pop(0)
            lines += ["", f"[{name}]"]
            emit(name, table)
            continue
        name, items = arrays.pop(0)
        for item in items:
            lines += ["", f"[[{name}]]"]
            for key, value in item.items():
                if value is not None:
                    lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def content_files(
    slug: str,
    *,
    manifest: Mapping[str, Any],
    statement_es: str,
    statement_en: str,
    starter: Mapping[str, str],
    solution: Mapping[str, str],
    alternatives: Mapping[str, Mapping[str, str]],
    wrong: Mapping[str, Mapping[str, str]],
    suite: Mapping[str, str],
) -> dict[str, str]:
    """An exercise's parts as the files of its bundle, by path in the zip."""
    base = f"exercises/{slug}"
    files: dict[str, str] = {
        f"{base}/manifest.toml": manifest_toml(manifest),
        f"{base}/statement.es.md": statement_es,
        f"{base}/statement.en.md": statement_en,
    }
    files.update({f"{base}/starter/{p}": t for p, t in starter.items()})
    files.update({f"{base}/solution/{p}": t for p, t in solution.items()})
    for name, tree in alternatives.items():
        files.update({f"{base}/alternatives/{name}/{p}": t for p, t in tree.items()})
    for name, tree in wrong.items():
        files.update({f"{base}/wrong/{name}/{p}": t for p, t in tree.items()})
    files.update({f"graders/{slug}/{p}": t for p, t in suite.items()})
    return files


def zip_files(files: Mapping[str, str]) -> bytes:
    """A bundle zip that `load_bundle` reads back as the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()
