from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from taller.courses.models import Course, Exercise, GraderVersion, Section

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the real course content that a test may break."""
    exercises = tmp_path / "exercises"
    graders = tmp_path / "graders"
    shutil.copytree(REPO / "exercises", exercises)
    shutil.copytree(REPO / "graders", graders, ignore=shutil.ignore_patterns("taller_grader"))
    return exercises, graders


def sync(content: tuple[Path, Path]) -> None:
    call_command("sync_exercises", exercises=str(content[0]), graders=str(content[1]))


def test_sync_loads_the_course_sections_and_rest_api(content: tuple[Path, Path]) -> None:
    sync(content)
    course = Course.objects.get()
    assert course.title_es == "Integración de Node.js en el backend"
    assert Section.objects.filter(course=course).count() == 8
    exercise = Exercise.objects.get(slug="rest-api")
    assert exercise.section.number == 3
    version = exercise.current_version
    assert version is not None
    assert version.entry_files == ["server.js"]
    assert "Hola desde el backend" in version.statement_es
    assert "REST API" in version.statement_en
    assert "server.js" in version.starter_files and "server.js" in version.solution_files
    assert any(p.startswith("test_") for p in version.suite_files)


def test_sync_twice_changes_nothing(content: tuple[Path, Path]) -> None:
    sync(content)
    first = Exercise.objects.get(slug="rest-api").current_version_id
    sync(content)
    assert Exercise.objects.get(slug="rest-api").current_version_id == first
    assert GraderVersion.objects.count() == Exercise.objects.count()  # one each, no more


def test_changed_content_makes_a_new_version_and_keeps_the_old(content: tuple[Path, Path]) -> None:
    sync(content)
    statement = content[0] / "rest-api" / "statement.es.md"
    statement.write_text(statement.read_text() + "\nUna línea más.\n")
    sync(content)
    versions = GraderVersion.objects.filter(exercise__slug="rest-api").order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert Exercise.objects.get(slug="rest-api").current_version == versions[1]
    assert "Una línea más." not in versions[0].statement_es


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda m: m.replace("section = 3", 'section = "tres"'),
            "«section» debe ser un número entero",
        ),
        (
            lambda m: m.replace("memory_limit_mb = 256", "memory_limit_mb = 1"),
            "«run.memory_limit_mb» debe ser como mínimo 32",
        ),
        (
            lambda m: m.replace('entry = ["server.js"]', 'entry = ["../server.js"]'),
            "«run.entry.0»: «../server.js» debe ser una ruta relativa",
        ),
        (
            lambda m: m.replace('entry = ["server.js"]', 'entry = ["main.js"]'),
            "«main.js», que no está en solution/ (hay: server.js)",
        ),
        (
            lambda m: m.replace("services = []", 'services = ["oracle"]'),
            "«run.services.0» debe ser uno de",
        ),
        (lambda m: m.replace("[title]", "[titulo]"), "falta el campo «title»"),
        (
            lambda m: m.replace('slug = "rest-api"', 'slug = "otra"'),
            "pero la carpeta se llama «rest-api»",
        ),
        (lambda m: "surprise = true\n" + m, "el campo «surprise» no existe"),
        (lambda m: m.replace("[run]", "[run"), "no es TOML válido"),
    ],
)
def test_a_bad_manifest_names_the_file_and_field_and_writes_nothing(
    content: tuple[Path, Path], edit, expected: str
) -> None:
    manifest = content[0] / "rest-api" / "manifest.toml"
    manifest.write_text(edit(manifest.read_text()))
    with pytest.raises(CommandError) as caught:
        sync(content)
    message = str(caught.value)
    assert "rest-api/manifest.toml" in message
    assert expected in message
    assert not Course.objects.exists() and not Exercise.objects.exists()


def test_a_missing_statement_or_suite_is_reported(content: tuple[Path, Path]) -> None:
    (content[0] / "rest-api" / "statement.en.md").unlink()
    with pytest.raises(CommandError, match=r"statement\.en\.md: falta el archivo"):
        sync(content)
    (content[0] / "rest-api" / "statement.en.md").write_text("# ok")
    shutil.rmtree(content[1] / "rest-api")
    with pytest.raises(CommandError, match=r"no hay ninguna suite de pytest"):
        sync(content)


def test_links_in_content_are_refused(content: tuple[Path, Path]) -> None:
    (content[0] / "rest-api" / "starter" / "secret.js").symlink_to("/etc/passwd")
    with pytest.raises(CommandError, match="los enlaces no se admiten"):
        sync(content)
