"""Course content as code: reading and validating `exercises/` and `graders/`.

Layout (one folder per exercise):

    exercises/course.toml               the course and its sections
    exercises/<slug>/manifest.toml      slug, section, titles, how to run it
    exercises/<slug>/statement.es.md    statement, Spanish (the course language)
    exercises/<slug>/statement.en.md    statement, English
    exercises/<slug>/starter/           what the editor starts with
    exercises/<slug>/solution/          the reference solution (full marks)
    exercises/<slug>/alternatives/<n>/  other correct solutions (full marks)
    exercises/<slug>/wrong/<name>/      known-wrong solutions (must lose points)
    graders/<slug>/                     the pytest grader suite

Nothing here touches the database; `services.sync_course` writes what this reads.
Errors name the file and the field, so an instructor can fix a manifest unaided.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=50)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


# The characters a file name in an exercise may use (manifests, bundles, the site's editor).
PATH_CHARS = r"^[\w./-]+$"


def is_relative_path(value: str) -> bool:
    """Relative, written the canonical way, and never climbing out (`..`)."""
    path = PurePosixPath(value)
    return not (path.is_absolute() or ".." in path.parts or value != path.as_posix())


def _relative_path(value: str) -> str:
    if not is_relative_path(value):
        raise ValueError(
            _("«%(v)s» debe ser una ruta relativa dentro de la entrega, sin «..»") % {"v": value}
        )
    return value


RelPath = Annotated[
    str, StringConstraints(pattern=PATH_CHARS, max_length=200), AfterValidator(_relative_path)
]

# Files never taken into a version: editor and OS litter, caches.
_IGNORED_PARTS = {"__pycache__", ".pytest_cache", "node_modules", ".DS_Store", ".next"}
MAX_CONTENT_FILE_BYTES = 512 * 1024


class ContentError(ValueError):
    """Course content that cannot be loaded; the message names the file and the field."""


class _Strict(BaseModel):
    # Strict: `section = "3"` is a mistake to point out, not a number to guess at.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Titles(_Strict):
    es: Text
    en: Text


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]


class ProgramSpec(_Strict):
    name: Slug
    command: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1
    )
    # No port: a script, run on demand (TOML cannot say None, so it is left out).
    port: int | None = Field(default=None, ge=1024, le=65535)
    autostart: bool = True
    cwd: RelPath = "."
    env: dict[EnvName, str] = Field(default_factory=dict)


class RunSpec(_Strict):
    entry: list[RelPath] = Field(min_length=1)
    time_limit_seconds: float = Field(default=30, gt=0, le=600)
    startup_seconds: float = Field(default=10, gt=0, le=300)
    memory_limit_mb: int = Field(default=256, ge=32, le=4096)
    # Threads count too: a Node process has about 7; builds (ssr) need far more.
    pids: int = Field(default=128, ge=16, le=4096)
    disk_mb: int = Field(default=64, ge=8, le=4096)  # the writable submission folder
    services: list[Literal["postgres", "mongo", "rabbitmq", "kafka"]] = Field(default_factory=list)
    queue: Literal["grading", "heavy"] = "grading"
    env: dict[EnvName, str] = Field(default_factory=dict)
    secrets: list[EnvName] = Field(default_factory=list)
    programs: list[ProgramSpec] = Field(default_factory=list)
    # A directory the build fills (".next/cache"), carried into every run from a build of
    # graders/<slug>/cache-seed/ (taller_grader/build_cache.py).
    build_cache: RelPath | None = None


class Manifest(_Strict):
    slug: Slug
    section: int = Field(ge=1, le=99)
    order: int = Field(default=1, ge=1, le=99)
    title: Titles
    run: RunSpec


class SectionSpec(_Strict):
    number: int = Field(ge=1, le=99)
    slug: Slug
    title: Titles


class CourseSpec(_Strict):
    slug: Slug
    title: Titles
    sections: list[SectionSpec] = Field(min_length=1)


@dataclass(frozen=True)
class ExerciseContent:
    manifest: Manifest
    statement_es: str
    statement_en: str
    starter: dict[str, str]
    solution: dict[str, str]
    alternatives: dict[str, dict[str, str]]
    wrong: dict[str, dict[str, str]]
    suite: dict[str, str]
    content_hash: str


@dataclass(frozen=True)
class CourseContent:
    course: CourseSpec
    exercises: tuple[ExerciseContent, ...]


def _type_words(kind: str) -> str | None:
    return {
        "int_type": _("un número entero"),
        "int_parsing": _("un número entero"),
        "float_type": _("un número"),
        "float_parsing": _("un número"),
        "string_type": _("un texto entre comillas"),
        "bool_type": _("true o false"),
        "list_type": _("una lista [ … ]"),
        "dict_type": _("una tabla"),
        "model_type": _("una tabla"),
    }.get(kind)


def _found(value: object) -> str:
    kind = {
        str: _("el texto"),
        int: _("el número"),
        float: _("el número"),
        bool: _("el valor"),
        list: _("una lista"),
        dict: _("una tabla"),
    }.get(type(value), "")
    shown = repr(value) if not isinstance(value, list | dict) else ""
    return f"{kind} {shown}".strip()


def _known_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The fields a manifest may have where `loc` points (for "did you mean")."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        nested = [
            a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        current = nested[0] if nested else None
    return list(current.model_fields) if current is not None else []


def _explain(item: dict[str, object], model: type[BaseModel]) -> str:
    loc: tuple[int | str, ...] = tuple(item["loc"])  # type: ignore[arg-type]
    field = ".".join(str(p) for p in loc) or _("(primer nivel)")
    kind = str(item["type"])
    value = item.get("input")
    ctx = item.get("ctx") or {}
    assert isinstance(ctx, dict)
    if kind == "extra_forbidden":
        known = _known_fields(model, loc)
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        message = _("el campo «%(f)s» no existe") % {"f": field}
        if guess:
            message += "; " + _("¿quisiste decir «%(g)s»?") % {"g": guess[0]}
        elif known:
            message += "; " + _("los campos posibles aquí son: %(k)s") % {"k": ", ".join(known)}
        return message
    if kind == "missing":
        return _("falta el campo «%(f)s»") % {"f": field}
    want = _type_words(kind)
    if want is not None:
        return _("«%(f)s» debe ser %(want)s; se encontró %(found)s") % {
            "f": field,
            "want": want,
            "found": _found(value),
        }
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {
            "greater_than_equal": _("como mínimo %(b)s"),
            "greater_than": _("mayor que %(b)s"),
            "less_than_equal": _("como máximo %(b)s"),
            "less_than": _("menor que %(b)s"),
        }[kind] % {"b": bound}
        return _("«%(f)s» debe ser %(rule)s; se encontró %(v)s") % {
            "f": field,
            "rule": words,
            "v": value,
        }
    if kind == "string_pattern_mismatch":
        return _(
            "«%(f)s» no tiene la forma esperada (%(v)r): usa minúsculas, números y guiones "
            "para un slug, o una ruta relativa para un archivo"
        ) % {"f": field, "v": value}
    if kind == "literal_error":
        return _("«%(f)s» debe ser uno de %(allowed)s; se encontró %(v)r") % {
            "f": field,
            "allowed": ctx.get("expected", ""),
            "v": value,
        }
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return _("«%(f)s»: %(msg)s") % {"f": field, "msg": ctx["error"]}
    return _("«%(f)s»: %(msg)s") % {"f": field, "msg": item["msg"]}


def _describe(error: ValidationError, path: Path, model: type[BaseModel]) -> ContentError:
    parts = [f"{path}: {_explain(dict(item), model)}" for item in error.errors()]
    return ContentError("; ".join(parts))


def _read_toml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(_("%(p)s: falta el archivo") % {"p": path}) from None
    except UnicodeDecodeError:
        raise ContentError(_("%(p)s: no es texto UTF-8") % {"p": path}) from None
    return _parse_toml(text, path)


def _parse_toml(text: str, path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(_("%(p)s: no es TOML válido: %(e)s") % {"p": path, "e": exc}) from None
    except RecursionError:
        # tomllib recurses into nested arrays; thousands of "[" exhaust the stack.
        raise ContentError(
            _("%(p)s: tiene demasiados niveles de corchetes anidados") % {"p": path}
        ) from None


def _read_tree(root: Path) -> dict[str, str]:
    """Every text file under root, by relative POSIX path; links are refused."""
    files: dict[str, str] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _IGNORED_PARTS for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise ContentError(
                _("%(p)s: los enlaces no se admiten en un ejercicio; copia el archivo")
                % {"p": path}
            )
        if path.is_dir():
            continue
        if path.stat().st_size > MAX_CONTENT_FILE_BYTES:
            raise ContentError(
                _("%(p)s: ocupa más de %(max)s bytes") % {"p": path, "max": MAX_CONTENT_FILE_BYTES}
            )
        try:
            files[rel.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ContentError(
                _("%(p)s: no es texto UTF-8 (los ejercicios solo llevan archivos de texto)")
                % {"p": path}
            ) from None
    return files


def _read_variants(root: Path) -> dict[str, dict[str, str]]:
    if not root.is_dir():
        return {}
    return {d.name: _read_tree(d) for d in sorted(root.iterdir()) if d.is_dir()}


def content_hash(*trees: dict[str, str] | dict[str, dict[str, str]] | str) -> str:
    digest = hashlib.sha256()
    for tree in trees:
        digest.update(repr(tree if isinstance(tree, str) else sorted(tree.items())).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _ordered(files: dict[str, str]) -> dict[str, str]:
    """Files in the order _read_tree finds them on disk (sorted by path components)."""
    return dict(sorted(files.items(), key=lambda item: PurePosixPath(item[0]).parts))


def manifest_from_text(text: str, path: Path) -> Manifest:
    """A manifest written on the site's editor, checked as one read from disk."""
    try:
        return Manifest.model_validate(_parse_toml(text, path))
    except ValidationError as exc:
        raise _describe(exc, path, Manifest) from None


def load_exercise(exercise_dir: Path, graders_dir: Path) -> ExerciseContent:
    manifest_path = exercise_dir / "manifest.toml"
    try:
        manifest = Manifest.model_validate(_read_toml(manifest_path))
    except ValidationError as exc:
        raise _describe(exc, manifest_path, Manifest) from None
    if manifest.slug != exercise_dir.name:
        raise ContentError(
            _("%(p)s: «slug» es «%(s)s» pero la carpeta se llama «%(d)s»; deben coincidir")
            % {"p": manifest_path, "s": manifest.slug, "d": exercise_dir.name}
        )
    statements = {}
    for lang in ("es", "en"):
        path = exercise_dir / f"statement.{lang}.md"
        if not path.is_file():
            raise ContentError(
                _("%(p)s: falta el archivo (el enunciado en %(lang)s, en Markdown)")
                % {"p": path, "lang": {"es": _("español"), "en": _("inglés")}[lang]}
            )
        try:
            statements[lang] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ContentError(_("%(p)s: no es texto UTF-8") % {"p": path}) from None
    return exercise_content(
        manifest,
        exercise_dir=exercise_dir,
        graders_dir=graders_dir,
        statement_es=statements["es"],
        statement_en=statements["en"],
        starter=_read_tree(exercise_dir / "starter"),
        solution=_read_tree(exercise_dir / "solution"),
        alternatives=_read_variants(exercise_dir / "alternatives"),
        wrong=_read_variants(exercise_dir / "wrong"),
        suite=_read_tree(graders_dir / manifest.slug),
    )


def exercise_content(
    manifest: Manifest,
    *,
    exercise_dir: Path,
    graders_dir: Path,
    statement_es: str,
    statement_en: str,
    starter: dict[str, str],
    solution: dict[str, str],
    alternatives: dict[str, dict[str, str]],
    wrong: dict[str, dict[str, str]],
    suite: dict[str, str],
) -> ExerciseContent:
    """Check an exercise's parts fit together and fingerprint them.

    Shared by the course on disk, bundles and the on-site editor, so a version is
    accepted (and hashed) the same way whichever way it arrives. The directories only
    name files in error messages.
    """
    manifest_path = exercise_dir / "manifest.toml"
    # The hash reads dicts in order, and a tree read back from the database (jsonb)
    # comes in another order than from disk: put every tree in the disk's order.
    starter, solution, suite = _ordered(starter), _ordered(solution), _ordered(suite)
    alternatives = {k: _ordered(v) for k, v in sorted(alternatives.items())}
    wrong = {k: _ordered(v) for k, v in sorted(wrong.items())}
    if not solution:
        raise ContentError(
            _("%(p)s: falta la solución de referencia (al menos un archivo)")
            % {"p": exercise_dir / "solution"}
        )
    for entry in manifest.run.entry:
        if entry not in solution:
            raise ContentError(
                _("%(p)s: «run.entry» nombra «%(e)s», que no está en solution/ (hay: %(found)s)")
                % {
                    "p": manifest_path,
                    "e": entry,
                    "found": ", ".join(sorted(solution)[:10]) or "—",
                }
            )
    if not any(Path(p).name.startswith("test_") and p.endswith(".py") for p in suite):
        raise ContentError(
            _(
                "%(p)s: no hay ninguna suite de pytest (un archivo test_*.py); "
                "se encontró: %(found)s"
            )
            % {"p": graders_dir / manifest.slug, "found": ", ".join(sorted(suite)[:10]) or "—"}
        )
    return ExerciseContent(
        manifest=manifest,
        statement_es=statement_es,
        statement_en=statement_en,
        starter=starter,
        solution=solution,
        alternatives=alternatives,
        wrong=wrong,
        suite=suite,
        content_hash=content_hash(
            manifest.model_dump_json(),
            statement_es,
            statement_en,
            starter,
            solution,
            alternatives,
            wrong,
            suite,
        ),
    )


def load_course(exercises_dir: Path, graders_dir: Path) -> CourseContent:
    course_path = exercises_dir / "course.toml"
    try:
        course = CourseSpec.model_validate(_read_toml(course_path))
    except ValidationError as exc:
        raise _describe(exc, course_path, CourseSpec) from None
    numbers = {s.number for s in course.sections}
    exercises = []
    for exercise_dir in sorted(p for p in exercises_dir.iterdir() if p.is_dir()):
        if exercise_dir.name.startswith((".", "_")):
            continue
        content = load_exercise(exercise_dir, graders_dir)
        if content.manifest.section not in numbers:
            raise ContentError(
                _("%(p)s: «section» es %(n)s, que no es una sección de %(c)s (hay: %(known)s)")
                % {
                    "p": exercise_dir / "manifest.toml",
                    "n": content.manifest.section,
                    "c": course_path,
                    "known": ", ".join(str(n) for n in sorted(numbers)),
                }
            )
        exercises.append(content)
    return CourseContent(course=course, exercises=tuple(exercises))
