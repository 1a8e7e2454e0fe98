"""An exercise's manifest (`exercises/<slug>/manifest.toml`): its one definition.

The platform validates a manifest with these models wherever one arrives (the course on
disk, a bundle, the site's editor: taller.courses.content) and stores it as JSON on the
grader version; it reads it back with the same models (`GraderVersion.parsed_manifest`),
and the runner builds its spec from the `[run]` table (`runner.spec_from_run`). So every
default is written here once. docs/exercises.md describes the format.

No Django here: the messages an instructor reads are worded by taller.courses.content,
in their language, from pydantic's error types (and the one custom type below).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

# Servers listen on process.env.PORT: this, unless a program of the manifest names its own.
SERVER_PORT = 3000
TIME_LIMIT_SECONDS = 30.0
STARTUP_SECONDS = 10.0

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=50)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]

# The characters a file name in an exercise may use (manifests, bundles, the site's editor).
PATH_CHARS = r"^[\w./-]+$"
# The error type of a path that is absolute or climbs out; its words are the platform's.
NOT_RELATIVE = "relative_path"


def is_relative_path(value: str) -> bool:
    """Relative, written the canonical way, and never climbing out (`..`)."""
    path = PurePosixPath(value)
    return not (path.is_absolute() or ".." in path.parts or value != path.as_posix())


def _relative_path(value: str) -> str:
    if not is_relative_path(value):
        raise PydanticCustomError(
            NOT_RELATIVE,
            "«{v}» debe ser una ruta relativa dentro de la entrega, sin «..»",
            {"v": value},
        )
    return value


RelPath = Annotated[
    str, StringConstraints(pattern=PATH_CHARS, max_length=200), AfterValidator(_relative_path)
]


class StrictModel(BaseModel):
    # Strict: `section = "3"` is a mistake to point out, not a number to guess at.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Titles(StrictModel):
    es: Text
    en: Text


class Program(StrictModel):
    name: Slug
    command: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1
    )
    # No port: a script, run on demand (TOML cannot say None, so it is left out).
    port: int | None = Field(default=None, ge=1024, le=65535)
    autostart: bool = True
    cwd: RelPath = "."
    env: dict[EnvName, str] = Field(default_factory=dict)


class RunSpec(StrictModel):
    entry: list[RelPath] = Field(min_length=1)
    time_limit_seconds: float = Field(default=TIME_LIMIT_SECONDS, gt=0, le=600)
    startup_seconds: float = Field(default=STARTUP_SECONDS, gt=0, le=300)
    memory_limit_mb: int = Field(default=256, ge=32, le=4096)
    # Threads count too: a Node process has about 7; builds (ssr) need far more.
    pids: int = Field(default=128, ge=16, le=4096)
    disk_mb: int = Field(default=64, ge=8, le=4096)  # the writable submission folder
    services: list[Literal["postgres", "mongo", "rabbitmq", "kafka"]] = Field(default_factory=list)
    queue: Literal["grading", "heavy"] = "grading"
    env: dict[EnvName, str] = Field(default_factory=dict)
    secrets: list[EnvName] = Field(default_factory=list)
    programs: list[Program] = Field(default_factory=list)
    # A directory the build fills (".next/cache"), carried into every run from a build of
    # graders/<slug>/cache-seed/ (taller_grader/build_cache.py).
    build_cache: RelPath | None = None

    def program_list(self) -> list[Program]:
        """The programs of a run: those the manifest names, else one server started
        from the first entry file."""
        if self.programs:
            return list(self.programs)
        return [Program(name="server", command=["node", self.entry[0]], port=SERVER_PORT)]


class Manifest(StrictModel):
    slug: Slug
    section: int = Field(ge=1, le=99)
    order: int = Field(default=1, ge=1, le=99)
    title: Titles
    run: RunSpec
