"""A bundle upload never reaches a 500: every bad zip or manifest is a 400 that says what
was found and what to write instead, and nothing is stored. A version downloads as a
bundle that uploads back as the same content; an earlier version can be published again."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taller.accounts.roles import Role
from taller.courses.bundles import load_bundle
from taller.courses.models import Exercise, GraderVersion
from taller.courses.services import version_bundle
from tests.factories import UserFactory

REPO = Path(__file__).resolve().parents[2]
db = pytest.mark.django_db
SOLUTION = "exercises/x/solution/server.js"


def rest_api_files() -> dict[str, str]:
    source = REPO / "exercises" / "rest-api"
    return {
        "exercises/rest-api/manifest.toml": (source / "manifest.toml").read_text(),
        "exercises/rest-api/statement.es.md": (source / "statement.es.md").read_text() + "\nv\n",
        "exercises/rest-api/statement.en.md": (source / "statement.en.md").read_text(),
        "exercises/rest-api/solution/server.js": (source / "solution/server.js").read_text(),
        "graders/rest-api/test_rest_api.py": (
            REPO / "graders/rest-api/test_rest_api.py"
        ).read_text(),
    }


def zipped(files: dict[str, str], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _patch(data: bytes, *, local: int, central: int, value: bytes) -> bytes:
    """Overwrite a field of the first entry in its local header and its central record."""
    out = bytearray(data)
    start = out.index(b"PK\x03\x04")
    out[start + local : start + local + len(value)] = value
    record = out.index(b"PK\x01\x02")
    out[record + central : record + central + len(value)] = value
    return bytes(out)


def _one_entry(compression: int = zipfile.ZIP_STORED) -> bytes:
    # The corrupted entry first; a suite after it so the bundle names one exercise.
    return zipped({SOLUTION: "console.log('hola')\n" * 20, "graders/x/test_x.py": "x"}, compression)


def _duplicate() -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(SOLUTION, "a")
            archive.writestr(SOLUTION, "b")
            archive.writestr("graders/x/test_x.py", "x")
    return buffer.getvalue()


BAD_ZIPS = {
    # Offsets per the zip format: local header / central directory record.
    "size-lie": (
        _patch(_one_entry(), local=22, central=24, value=struct.pack("<I", 5)),
        "el zip está dañado",
    ),
    "size-lie-deflated": (
        _patch(
            _one_entry(zipfile.ZIP_DEFLATED), local=22, central=24, value=struct.pack("<I", 9999)
        ),
        "el zip está dañado",
    ),
    "bad-crc": (
        _patch(_one_entry(), local=14, central=16, value=b"\0\0\0\0"),
        "el zip está dañado",
    ),
    "encrypted": (
        _patch(_one_entry(), local=6, central=8, value=struct.pack("<H", 1)),
        "está cifrado",
    ),
    "unknown-method": (
        _patch(_one_entry(), local=8, central=10, value=struct.pack("<H", 99)),
        "método de compresión desconocido (99)",
    ),
    "future-version": (
        _patch(_one_entry(), local=4, central=6, value=struct.pack("<H", 64)),
        "el archivo no es un zip válido",
    ),
    "duplicate": (_duplicate(), "aparece dos veces"),
    "dot": (zipped({".": "x", "graders/x/test_x.py": "x"}), "rutas relativas dentro del paquete"),
    "file-and-folder": (
        zipped({SOLUTION: "a", SOLUTION + "/b.js": "b", "graders/x/test_x.py": "x"}),
        "es a la vez un archivo y una carpeta",
    ),
}


@pytest.fixture
def instructor(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    return client


def post_bundle(client: Client, data: bytes, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/docencia/", {"bundle": SimpleUploadedFile("b.zip", data)}, **extra)


@db
@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_a_broken_zip_is_a_400_with_its_reason_and_nothing_is_stored(
    instructor: Client, course: None, case: str
) -> None:
    data, reason = BAD_ZIPS[case]
    before = GraderVersion.objects.count(), Exercise.objects.count()
    response = post_bundle(instructor, data)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert (GraderVersion.objects.count(), Exercise.objects.count()) == before


def _with_manifest(edit) -> bytes:  # type: ignore[no-untyped-def]
    files = rest_api_files()
    name = "exercises/rest-api/manifest.toml"
    files[name] = edit(files[name])
    return zipped(files)


@db
@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda m: m + "\nnested = " + "[" * 5000 + "]" * 5000 + "\n",
            "demasiados niveles de corchetes anidados",
        ),
        (
            lambda m: m.replace("section = 3", 'section = "3"'),
            "«section» debe ser un número entero; se encontró el texto &#x27;3&#x27;",
        ),
        (
            lambda m: m.replace("time_limit_seconds", "time_limit"),
            "¿quisiste decir «time_limit_seconds»?",
        ),
    ],
    ids=["nested-brackets", "section-as-text", "misspelt-field"],
)
def test_a_bad_manifest_is_a_400_that_says_what_to_write(
    instructor: Client, course: None, edit, reason: str
) -> None:
    before = GraderVersion.objects.count()
    response = post_bundle(instructor, _with_manifest(edit))
    assert response.status_code == 400
    page = response.content.decode()
    assert "exercises/rest-api/manifest.toml" in page
    assert reason in page
    assert GraderVersion.objects.count() == before


@db
def test_a_zip_of_the_wrong_folder_names_its_actual_top_level(
    instructor: Client, course: None
) -> None:
    # The instructor zipped the exercise's folder alone, without graders/.
    files = {
        name.replace("exercises/rest-api/", "rest-api/"): text
        for name, text in rest_api_files().items()
        if name.startswith("exercises/")
    }
    files["README.md"] = "notas"
    page = post_bundle(instructor, zipped(files)).content.decode()
    assert "su nivel superior contiene: README.md, rest-api/" in page
    assert "Parece la carpeta de un ejercicio sola" in page


@db
def test_upload_messages_are_in_english_on_request(instructor: Client, course: None) -> None:
    instructor.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = _with_manifest(lambda m: m.replace("time_limit_seconds", "time_limit"))
    page = post_bundle(instructor, data).content.decode()
    assert "the field «run.time_limit» does not exist; did you mean «time_limit_seconds»?" in page
    page = post_bundle(instructor, BAD_ZIPS["duplicate"][0])
    assert "appears twice in the bundle" in page.content.decode()


@db
def test_every_version_downloads_as_a_bundle_that_uploads_back_unchanged(
    instructor: Client, course: None
) -> None:
    for exercise in Exercise.objects.select_related("current_version"):
        version = exercise.current_version
        response = instructor.get(
            f"/docencia/{exercise.slug}/versiones/{version.number}/paquete.zip"
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        data = b"".join(response.streaming_content) if response.streaming else response.content
        assert load_bundle(io.BytesIO(data)).content_hash == version.content_hash, exercise.slug
    # Uploaded back through the page: the same content, so nothing new to validate.
    rest = Exercise.objects.get(slug="rest-api").current_version
    page = post_bundle(instructor, version_bundle(rest)).content.decode()
    assert f"este contenido ya es la versión {rest.number} de rest-api" in page


def _newer(version: GraderVersion, statement: str) -> GraderVersion:
    return GraderVersion.objects.create(
        exercise=version.exercise,
        number=version.number + 1,
        content_hash="d" * 64,
        state=GraderVersion.State.VALID,
        source="upload",
        manifest=version.manifest,
        statement_es=statement,
        statement_en=version.statement_en,
        starter_files=version.starter_files,
        solution_files=version.solution_files,
        suite_files=version.suite_files,
    )


@db
def test_an_earlier_version_is_published_again_after_a_confirmation_with_the_diff(
    instructor: Client, course: None
) -> None:
    first = Exercise.objects.get(slug="rest-api").current_version
    second = _newer(first, "# Enunciado nuevo\n")
    url = "/docencia/rest-api/versiones/{}/"
    instructor.post(url.format(second.number) + "publicar/", {"confirm": "1"})
    assert Exercise.objects.get(slug="rest-api").current_version == second

    listing = instructor.get("/docencia/rest-api/").content.decode()
    assert "Volver a publicar esta versión…" in listing
    # Without the confirmation nothing changes: the button leads to the version's page.
    response = instructor.post(url.format(first.number) + "publicar/")
    assert response.status_code == 302 and response["Location"] == url.format(first.number)
    assert Exercise.objects.get(slug="rest-api").current_version == second
    page = instructor.get(url.format(first.number)).content.decode()
    assert "exercises/rest-api/statement.es.md" in page
    assert "-# Enunciado nuevo" in page  # what going back removes
    assert f"Confirmar: volver a publicar la versión {first.number}" in page

    instructor.post(url.format(first.number) + "publicar/", {"confirm": "1"})
    exercise = Exercise.objects.get(slug="rest-api")
    assert exercise.current_version == first
    assert GraderVersion.objects.get(pk=first.pk).state == "published"


@db
def test_the_editor_says_which_version_it_starts_from_and_that_a_newer_exists(
    instructor: Client, course: None
) -> None:
    first = Exercise.objects.get(slug="rest-api").current_version
    second = _newer(first, "# Segunda edición\n")
    page = instructor.get("/docencia/rest-api/editar/").content.decode()
    assert "# Segunda edición" in page  # the newest, not the published one
    assert "graders/rest-api/" in page  # the help text's <slug> is no longer eaten
    older = instructor.get(f"/docencia/rest-api/editar/?desde={first.number}").content.decode()
    assert f"existe una más reciente, la {second.number}" in older


@db
def test_the_template_bundle_is_accepted_as_a_new_exercise(
    instructor: Client, course: None
) -> None:
    page = instructor.get("/docencia/").content.decode()
    assert 'href="/docencia/plantilla.zip"' in page and "check_bundle" in page
    data = instructor.get("/docencia/plantilla.zip").content
    content = load_bundle(io.BytesIO(data))
    assert content.manifest.slug == "nuevo-ejercicio" and content.wrong and content.starter
    response = post_bundle(instructor, data)
    assert response.status_code == 302
    version = GraderVersion.objects.get(exercise__slug="nuevo-ejercicio")
    assert version.state == "draft" and not version.exercise.is_published
