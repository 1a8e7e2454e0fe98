"""Instructors add a grader version: unpacked safely, validated, published only if valid."""

from __future__ import annotations

import io
import stat
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taller.accounts.roles import Role
from taller.courses.bundles import MAX_FILE_BYTES, BundleError, load_bundle
from taller.courses.models import Exercise, GraderVersion
from taller_grader.results import Results
from tests.factories import UserFactory
from tests.grading.conftest import requires_sandbox

REPO = Path(__file__).resolve().parents[2]
db = pytest.mark.django_db


def bundle(
    *, statement_extra: str = "", wrong_is_right: bool = False, extra: dict | None = None
) -> bytes:
    """The repo's rest-api as a bundle: the reference, one wrong solution, the suite."""
    source = REPO / "exercises" / "rest-api"
    files = {
        "exercises/rest-api/manifest.toml": (source / "manifest.toml").read_text(),
        "exercises/rest-api/statement.es.md": (source / "statement.es.md").read_text()
        + statement_extra,
        "exercises/rest-api/statement.en.md": (source / "statement.en.md").read_text(),
        "exercises/rest-api/starter/server.js": (source / "starter/server.js").read_text(),
        "exercises/rest-api/solution/server.js": (source / "solution/server.js").read_text(),
        "exercises/rest-api/wrong/sin-location/server.js": (
            source / ("solution" if wrong_is_right else "wrong/sin-location") / "server.js"
        ).read_text(),
        "graders/rest-api/test_rest_api.py": (
            REPO / "graders/rest-api/test_rest_api.py"
        ).read_text(),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def upload(client: Client, data: bytes) -> object:
    return client.post("/docencia/", {"bundle": SimpleUploadedFile("b.zip", data)}, follow=True)


@pytest.fixture
def instructor_client(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    return client


@db
def test_students_and_strangers_cannot_reach_the_teaching_pages(
    client: Client, course: None
) -> None:
    assert client.get("/docencia/").status_code == 302
    client.force_login(UserFactory(role=Role.STUDENT))
    assert client.get("/docencia/").status_code == 403
    assert client.get("/docencia/rest-api/").status_code == 403


def _zip_with(name: str, data: bytes = b"x", *, link: bool = False) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(name)
        if link:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, data)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (_zip_with("../evil.js"), "rutas relativas"),
        (_zip_with("/etc/cron.d/x"), "rutas relativas"),
        (
            _zip_with("exercises/x/solution/link.js", b"/etc/passwd", link=True),
            "los enlaces no se admiten",
        ),
        (_zip_with("exercises/x/a/b.js", b"0" * (MAX_FILE_BYTES + 1)), "ocupa más de"),
        (io.BytesIO(b"not a zip"), "no es un zip"),
        (_zip_with("README.md"), "su nivel superior contiene: README.md"),
    ],
    ids=["dotdot", "absolute", "symlink", "too-big", "not-zip", "no-exercise"],
)
def test_hostile_or_broken_bundles_are_refused(archive: io.BytesIO, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        load_bundle(archive)


def test_a_zip_bomb_is_stopped_by_what_it_really_unpacks(monkeypatch: pytest.MonkeyPatch) -> None:
    import taller.courses.bundles as bundles

    monkeypatch.setattr(bundles, "MAX_TOTAL_BYTES", 100_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n in range(3):
            archive.writestr(f"exercises/x/solution/f{n}.js", "0" * 60_000)
    buffer.seek(0)
    with pytest.raises(BundleError, match="descomprimido ocupa más de"):
        load_bundle(buffer)


@db
def test_a_bad_manifest_in_a_bundle_names_the_file_and_field(
    instructor_client: Client, course: None
) -> None:
    data = bundle(
        extra={"exercises/rest-api/manifest.toml": 'slug = "rest-api"\nsection = "tres"\n'}
    )
    page = upload(instructor_client, data).content.decode()
    assert "exercises/rest-api/manifest.toml" in page and "section" in page
    assert GraderVersion.objects.filter(exercise__slug="rest-api").count() == 1  # the synced one


@db
@requires_sandbox
def test_a_valid_version_is_validated_then_published(
    instructor_client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    before = exercise.current_version
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(instructor_client, bundle(statement_extra="\nNota nueva.\n"))
    version = GraderVersion.objects.get(exercise=exercise, number=before.number + 1)
    assert version.state == "valid", version.validation
    assert [r["kind"] for r in version.validation["rows"]] == ["reference", "wrong", "starter"]
    assert all(r["ok"] for r in version.validation["rows"])
    # Validated is not yet published: submissions still use the old version.
    assert Exercise.objects.get(pk=exercise.pk).current_version == before
    assert "Publicar esta versión" in instructor_client.get("/docencia/rest-api/").content.decode()
    # The confirmation shows what changes against the version in use.
    confirm = instructor_client.get(f"/docencia/rest-api/versiones/{version.number}/")
    assert "Nota nueva." in confirm.content.decode()
    assert "statement.es.md" in confirm.content.decode()
    instructor_client.post(f"/docencia/rest-api/versiones/{version.number}/publicar/")
    assert Exercise.objects.get(pk=exercise.pk).current_version == before  # not confirmed

    instructor_client.post(
        f"/docencia/rest-api/versiones/{version.number}/publicar/", {"confirm": "1"}
    )
    exercise.refresh_from_db()
    assert exercise.current_version == version
    assert "Nota nueva." in exercise.current_version.statement_es
    assert response.status_code == 200


@db
@requires_sandbox
def test_a_version_whose_wrong_solution_passes_is_invalid_and_never_published(
    instructor_client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    before = exercise.current_version
    with django_capture_on_commit_callbacks(execute=True):
        upload(instructor_client, bundle(wrong_is_right=True))
    version = GraderVersion.objects.get(exercise=exercise, number=before.number + 1)
    assert version.state == "invalid"
    wrong = [r for r in version.validation["rows"] if r["kind"] == "wrong"]
    assert wrong and not wrong[0]["ok"]
    page = instructor_client.post(
        f"/docencia/rest-api/versiones/{version.number}/publicar/", {"confirm": "1"}, follow=True
    ).content.decode()
    assert "solo se puede publicar una versión cuya validación pasó" in page
    # Said for the grader's author, not as the student's "all tests passed".
    listing = instructor_client.get("/docencia/rest-api/").content.decode()
    assert "Esta solución incorrecta saca todos los puntos: ninguna prueba detecta su error" in (
        listing
    )
    assert Exercise.objects.get(pk=exercise.pk).current_version == before


@db
def test_the_same_content_twice_is_refused(instructor_client: Client, course: None) -> None:
    # The synced version already has exactly this content... except the bundle drops the
    # alternatives and most wrong solutions, so build one identical to an upload instead.
    data = bundle(statement_extra="\nUna vez.\n")
    upload(instructor_client, data)
    page = upload(instructor_client, data).content.decode()
    assert "este contenido ya es la versión" in page


@db
def test_the_status_page_shows_queues_and_internal_errors_to_admins_only(
    client: Client, course: None
) -> None:
    from taller.submissions.models import Submission
    from tests.factories import SubmissionFactory

    exercise = Exercise.objects.get(slug="rest-api")
    SubmissionFactory(exercise=exercise, status="queued", queue="grading")
    broken = SubmissionFactory(
        exercise=exercise,
        status="internal-error",
        results={"output": "La plataforma de corrección falló (disco lleno)"},
    )
    # What failed is in the worker's logs, under the run's id: the page names it.
    failed_now = SubmissionFactory(
        exercise=exercise,
        status="internal-error",
        run_token=uuid.UUID(int=0xABC),
        results=Results.platform_failed("rest-api").to_dict(),
    )
    Submission.objects.filter(pk=failed_now.pk).update(finished_at="2026-11-29T11:00:00Z")
    Submission.objects.filter(pk=broken.pk).update(finished_at="2026-11-29T10:00:00Z")
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    assert client.get("/docencia/estado/").status_code == 403
    client.force_login(UserFactory(role=Role.ADMIN))
    page = client.get("/docencia/estado/").content.decode()
    assert "grading" in page
    assert "disco lleno" in page
    assert f"run_id={uuid.UUID(int=0xABC).hex}" in page
