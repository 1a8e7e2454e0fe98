"""An instructor's loop: scaffold, check before upload, read pytest's own report of a
broken suite (in the validation table and in the commands), know what a failed row
means, see each test as a student would, follow the validation's progress."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from taller.accounts.roles import Role
from taller.courses.bundles import zip_folder
from taller.courses.models import Exercise, GraderVersion
from tests.factories import UserFactory
from tests.grading.conftest import requires_sandbox

REPO = Path(__file__).resolve().parents[2]
db = pytest.mark.django_db
SUITE = "graders/rest-api/test_rest_api.py"

# A suite broken three ways, and what pytest's report must show of each.
BROKEN = {
    "syntax": (
        "import pytest\n\n\ndef test_a(:\n    pass\n",
        [f'File "{SUITE}", line 4', "def test_a(:", "SyntaxError: invalid syntax"],
    ),
    "import": (
        "import pytest\nimport nonexistent_mod\n\n\ndef test_a():\n    pass\n",
        [f"{SUITE}:2: in <module>", "ModuleNotFoundError: No module named 'nonexistent_mod'"],
    ),
    "fixture": (
        "import pytest\n\n\n@pytest.fixture\ndef broken():\n    return {}['missing']\n\n\n"
        "def test_a(broken):\n    pass\n",
        [f"{SUITE}:6: in broken", "KeyError: 'missing'"],
    ),
}


def exercise_folder(root: Path, suite: str | None = None, wrong: bool = False) -> Path:
    """rest-api's statement, manifest and solution (no course.toml), with `suite`."""
    source = REPO / "exercises" / "rest-api"
    folder = root / "exercises" / "rest-api"
    folder.mkdir(parents=True)
    for name in ("manifest.toml", "statement.es.md", "statement.en.md"):
        shutil.copy(source / name, folder / name)
    shutil.copytree(source / "solution", folder / "solution")
    if wrong:
        shutil.copytree(source / "wrong" / "sin-location", folder / "wrong" / "sin-location")
    graders = root / "graders" / "rest-api"
    graders.mkdir(parents=True)
    (graders / "test_rest_api.py").write_text(
        suite if suite is not None else (REPO / SUITE).read_text()
    )
    return folder


@db
@requires_sandbox
@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_suite_shows_pytests_report_in_the_validation_table(
    client: Client, course: None, tmp_path: Path, kind: str, django_capture_on_commit_callbacks
) -> None:
    suite, expected = BROKEN[kind]
    exercise_folder(tmp_path, suite)
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    bundle = SimpleUploadedFile("b.zip", zip_folder(tmp_path))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/docencia/", {"bundle": bundle})
    version = GraderVersion.objects.filter(exercise__slug="rest-api").order_by("-number")[0]
    assert version.state == "invalid"
    page = html.unescape(client.get("/docencia/rest-api/").content.decode())
    for text in expected:
        assert text in page
    assert "La suite del corrector no funciona tal como está escrita" in page
    # The student's words ("No es culpa tuya") are not what the author reads.
    assert "No es culpa tuya" not in page


@requires_sandbox
@pytest.mark.parametrize("kind", list(BROKEN))
def test_check_graders_shows_pytests_report_without_a_course_toml(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, expected = BROKEN[kind]
    exercise_folder(tmp_path, suite)
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "check_graders",
            exercises=str(tmp_path / "exercises"),
            graders=str(tmp_path / "graders"),
        )
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    for text in expected:
        assert text in out
    assert "failed: \n" not in out and "Informe de pytest:" in out


@db
@requires_sandbox
def test_check_bundle_grades_the_zip_never_the_databases_version(
    course: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The database's rest-api is sound; the zip's suite does not even parse.
    exercise_folder(tmp_path, BROKEN["syntax"][0])
    bundle = tmp_path / "rest-api.zip"
    bundle.write_bytes(zip_folder(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        call_command("check_bundle", str(bundle))
    assert exit_.value.code == 1
    assert "SyntaxError: invalid syntax" in capsys.readouterr().out
    assert GraderVersion.objects.filter(exercise__slug="rest-api").count() == 1  # nothing stored


def test_check_bundle_refuses_what_the_upload_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exercise_folder(tmp_path)
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("section = 3", 'section = "3"'))
    with pytest.raises(SystemExit) as exit_:
        call_command("check_bundle", str(folder), lang="en")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "exercises/rest-api/manifest.toml" in err
    assert "«section» must be a whole number; found the text '3'" in err


@requires_sandbox
def test_a_scaffolded_exercise_checks_and_a_wrong_solution_with_full_marks_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exercises, graders = tmp_path / "exercises", tmp_path / "graders"
    call_command("new_exercise", "salud", section=3, exercises=str(exercises), graders=str(graders))
    call_command("check_bundle", str(exercises / "salud"))  # exit 0: no SystemExit
    out = capsys.readouterr().out
    assert "las 3 comprobaciones pasaron" in out
    assert "código de inicio" in out  # the starter is graded, and loses points

    # The wrong solution made right: a grader that cannot tell them apart.
    wrong = exercises / "salud" / "wrong" / "texto-plano" / "server.js"
    wrong.write_text((exercises / "salud" / "solution" / "server.js").read_text())
    with pytest.raises(SystemExit) as exit_:
        call_command("check_bundle", str(exercises / "salud"))
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "Esta solución incorrecta saca todos los puntos: ninguna prueba detecta su error" in out


@db
@requires_sandbox
def test_validation_rows_open_to_each_test_and_progress_counts_k_of_n(
    client: Client, course: None, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    folder = exercise_folder(tmp_path, wrong=True)
    statement = folder / "statement.es.md"
    statement.write_text(statement.read_text() + "\nOtra vez.\n")
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/docencia/", {"bundle": SimpleUploadedFile("b.zip", zip_folder(tmp_path))})
    version = GraderVersion.objects.filter(exercise__slug="rest-api").order_by("-number")[0]
    status = f"/docencia/rest-api/versiones/{version.number}/estado/"
    assert client.get(status).json()["state"] == "draft"
    listing = client.get("/docencia/rest-api/").content.decode()
    assert f'data-validation-progress="{status}"' in listing  # followed live by validation.js
    for callback in callbacks:
        callback()
    assert client.get(status).json() == {
        "state": "valid",
        "state_label": "válida",
        "done": 2,
        "total": 2,
    }
    page = html.unescape(
        client.get(f"/docencia/rest-api/versiones/{version.number}/").content.decode()
    )
    # The wrong solution's row opens to the messages a student would have read.
    assert "pruebas, como las leería un estudiante" in page
    assert "Location" in page
    assert Exercise.objects.get(slug="rest-api").current_version != version


@db
@requires_sandbox
def test_grade_says_which_grader_it_used(
    course: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exercise_folder(tmp_path, BROKEN["syntax"][0])
    solution = str(REPO / "exercises" / "rest-api" / "solution")
    call_command("grade", "rest-api", solution)
    version = Exercise.objects.get(slug="rest-api").current_version
    out = capsys.readouterr().out
    assert f"graded with version {version.number} of rest-api, the site's published one" in out
    assert "passed" in out
    call_command("grade", "rest-api", solution, bundle=str(folder))
    out = capsys.readouterr().out
    assert f"graded with {folder} (grader files: test_rest_api.py)" in out
    assert "internal-error" in out  # its own broken suite, not the site's
