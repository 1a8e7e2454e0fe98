"""Instructors edit an exercise on the site; the edit is a new version, validated like a
bundle and published only if valid."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.courses.bundles import manifest_toml
from taller.courses.content import MAX_CONTENT_FILE_BYTES
from taller.courses.models import Exercise, GraderVersion
from tests.factories import CohortFactory, UserFactory
from tests.grading.conftest import requires_sandbox

db = pytest.mark.django_db
URL = "/docencia/rest-api/editar/"


def _flat(variants: dict[str, dict[str, str]]) -> dict[str, str]:
    return {
        f"{name}/{path}": text for name, files in variants.items() for path, text in files.items()
    }


def form_data(
    version: GraderVersion,
    *,
    statement_es: str | None = None,
    starter: dict[str, str] | None = None,
    suite: dict[str, str] | None = None,
    manifest: str | None = None,
    solution: dict[str, str] | None = None,
    wrong: dict[str, str] | None = None,
    newline: str = "\n",
) -> dict[str, str]:
    """What the edit form posts: the version's own content unless told otherwise."""
    data = {
        "base": str(version.number),
        "statement_es": statement_es if statement_es is not None else version.statement_es,
        "statement_en": version.statement_en,
        "manifest": manifest if manifest is not None else manifest_toml(version.manifest),
    }
    own = {
        "starter": version.starter_files,
        "suite": version.suite_files,
        "solution": version.solution_files,
        "alternatives": _flat(version.alternative_files),
        "wrong": _flat(version.wrong_files),
    }
    given = {"starter": starter, "suite": suite, "solution": solution, "wrong": wrong}
    for prefix, initial in own.items():
        files = given.get(prefix)
        files = initial if files is None else files
        data[f"{prefix}-TOTAL_FORMS"] = str(len(files))
        data[f"{prefix}-INITIAL_FORMS"] = str(min(len(initial), len(files)))
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
        for n, (path, text) in enumerate(files.items()):
            data[f"{prefix}-{n}-path"] = path
            data[f"{prefix}-{n}-content"] = text.replace("\n", newline)
    return data


def current() -> GraderVersion:
    return Exercise.objects.get(slug="rest-api").current_version


def people() -> dict[str, User | None]:
    mine = UserFactory(role=Role.INSTRUCTOR)
    CohortFactory().instructors.add(mine)
    return {
        "anonymous": None,
        "student": UserFactory(),
        # Exercises belong to the course, not to a cohort: every instructor edits them,
        # as every instructor may upload a bundle.
        "instructor-without-cohort": UserFactory(role=Role.INSTRUCTOR),
        "instructor": mine,
        "admin": UserFactory(role=Role.ADMIN),
    }


EXPECTED = {
    "anonymous": 302,
    "student": 403,
    "instructor-without-cohort": 200,
    "instructor": 200,
    "admin": 200,
}


@db
@pytest.mark.parametrize("role", list(EXPECTED))
def test_the_edit_page_per_role(
    client: Client, course: None, role: str, django_capture_on_commit_callbacks
) -> None:
    user = people()[role]
    if user is not None:
        client.force_login(user)
    response = client.get(URL)
    assert response.status_code == EXPECTED[role]
    before = GraderVersion.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        saved = client.post(URL, form_data(current(), statement_es="# Nuevo\n"))
    if EXPECTED[role] == 200:
        page = response.content.decode()
        assert "Guardar como versión nueva" in page and "test_rest_api.py" in page
        assert f'href="{URL}"' in client.get("/docencia/rest-api/").content.decode()
        assert saved.status_code == 302 and saved["Location"] == "/docencia/rest-api/"
        version = GraderVersion.objects.get(exercise__slug="rest-api", source="edit")
        assert (version.state, version.created_by) == ("draft", user)
    else:
        assert saved.status_code == EXPECTED[role]
        assert GraderVersion.objects.count() == before


@db
def test_an_unknown_exercise_is_not_found(client: Client, course: None) -> None:
    client.force_login(UserFactory(role=Role.ADMIN))
    assert client.get("/docencia/no-existe/editar/").status_code == 404


@db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starter": {"": "console.log(1)\n"}}, "El archivo necesita un nombre."),
        ({"starter": {"../fuera.js": "x"}}, "«..» no está permitido en un nombre de archivo."),
        ({"suite": {"/etc/test_x.py": "x"}}, "usa una ruta relativa"),
        (
            {"starter": {"grande.js": "x" * (MAX_CONTENT_FILE_BYTES + 1)}},
            f"grande.js ocupa {MAX_CONTENT_FILE_BYTES + 1} bytes",
        ),
        (
            {"suite": {"conftest.py": "import pytest\n"}},
            "no hay ninguna suite de pytest (un archivo test_*.py)",
        ),
        ({"statement_es": "   "}, "El enunciado en español no puede quedar vacío."),
        ({}, "este contenido ya es la versión"),
    ],
    ids=["empty-name", "dotdot", "absolute", "huge", "no-tests", "no-statement", "unchanged"],
)
def test_bad_edits_are_refused_with_a_clear_message(
    client: Client, course: None, change: dict, message: str
) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    version = current()
    before = GraderVersion.objects.count()
    response = client.post(URL, form_data(version, **change))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert GraderVersion.objects.count() == before


@db
def test_an_edit_of_a_version_no_longer_current_is_refused(client: Client, course: None) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    data = form_data(current(), statement_es="# Otro\n")
    data["base"] = str(current().number - 1 if current().number > 1 else 999)
    before = GraderVersion.objects.count()
    response = client.post(URL, data)
    assert response.status_code == 400
    assert f"Mientras editabas se creó la versión {current().number}." in (
        response.content.decode()
    )
    assert GraderVersion.objects.count() == before


@db
def test_the_same_file_twice_is_refused(client: Client, course: None) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    data = form_data(current())
    data["starter-TOTAL_FORMS"] = "2"
    data["starter-1-path"] = "server.js"
    data["starter-1-content"] = "// otra\n"
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "server.js aparece dos veces." in response.content.decode()


@db
def test_the_statement_preview_renders_markdown_and_saves_nothing(
    client: Client, course: None
) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    before = GraderVersion.objects.count()
    data = form_data(current(), statement_es="## Título nuevo\n\n<script>alert(1)</script>")
    page = client.post(URL, {**data, "preview": "1"}).content.decode()
    assert "<h2" in page and "Título nuevo" in page
    assert "<script>alert(1)</script>" not in page  # sanitized like every statement
    assert GraderVersion.objects.count() == before


def _small(version: GraderVersion) -> None:
    # The reference and one wrong solution are enough to tell valid from invalid, and
    # keep the test quick.
    GraderVersion.objects.filter(pk=version.pk).update(
        alternative_files={}, wrong_files={"sin-location": version.wrong_files["sin-location"]}
    )


@db
@requires_sandbox
def test_a_statement_only_edit_validates_and_can_be_published(
    client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    _small(current())
    base = current()
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    # Browsers send textareas with CRLF; unchanged files must stay unchanged.
    data = form_data(base, statement_es=base.statement_es + "\nNota nueva.\n", newline="\r\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data)
    assert response.status_code == 302
    version = GraderVersion.objects.get(exercise__slug="rest-api", number=base.number + 1)
    assert version.source == "edit"
    assert version.state == "valid", version.validation
    assert [r["kind"] for r in version.validation["rows"]] == ["reference", "wrong", "starter"]
    assert version.starter_files == base.starter_files
    assert version.suite_files == base.suite_files
    assert version.statement_es.endswith("\nNota nueva.\n") and "\r" not in version.statement_es
    client.post(f"/docencia/rest-api/versiones/{version.number}/publicar/", {"confirm": "1"})
    assert current() == version


@db
@requires_sandbox
def test_a_broken_grader_edit_is_invalid_and_never_published(
    client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    _small(current())
    base = current()
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    suite = dict(base.suite_files)
    # Expect a status no correct server answers: the reference now loses points.
    suite["test_rest_api.py"] = suite["test_rest_api.py"].replace(
        "expect_json(201)", "expect_json(299)"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, form_data(base, suite=suite))
    version = GraderVersion.objects.get(exercise__slug="rest-api", number=base.number + 1)
    assert version.state == "invalid"
    reference = [r for r in version.validation["rows"] if r["kind"] == "reference"]
    assert reference and not reference[0]["ok"]
    page = client.get("/docencia/rest-api/").content.decode()
    assert "Publicar esta versión" not in page
    refused = client.post(
        f"/docencia/rest-api/versiones/{version.number}/publicar/", {"confirm": "1"}, follow=True
    ).content.decode()
    assert "solo se puede publicar una versión cuya validación pasó" in refused
    assert current() == base


@db
def test_an_edit_can_start_from_an_earlier_version_to_fix_it(
    client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    base = current()
    suite = {**base.suite_files, "test_rest_api.py": "# roto a propósito\n"}
    broken = GraderVersion.objects.create(
        exercise=base.exercise,
        number=base.number + 1,
        content_hash="c" * 64,
        state=GraderVersion.State.INVALID,
        source="edit",
        manifest=base.manifest,
        statement_es=base.statement_es,
        statement_en=base.statement_en,
        starter_files=base.starter_files,
        solution_files=base.solution_files,
        suite_files=suite,
    )
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    exercise_page = client.get("/docencia/rest-api/").content.decode()
    assert f'href="{URL}?desde={base.number}"' in exercise_page
    # The editor starts from the newest version, and says it is not the one in use.
    page = client.get(URL).content.decode()
    assert "roto a propósito" in page and "no es la vigente" in page
    page = client.get(f"{URL}?desde={broken.number}").content.decode()
    assert "roto a propósito" in page
    fixed = {**suite, "test_rest_api.py": "# roto a propósito\n# y arreglado\n"}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"{URL}?desde={broken.number}", form_data(broken, suite=fixed))
    assert response.status_code == 302
    newest = GraderVersion.objects.get(exercise=base.exercise, number=broken.number + 1)
    assert newest.suite_files["test_rest_api.py"].endswith("# y arreglado\n")
    assert client.get(f"{URL}?desde=999").status_code == 404
    assert client.get(f"{URL}?desde=x").status_code == 404


@db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"manifest": lambda m: m.replace("time_limit_seconds", "time_limit")},
            "¿quisiste decir «time_limit_seconds»?",
        ),
        (
            {"manifest": lambda m: m.replace('slug = "rest-api"', 'slug = "otra"')},
            "el editor no cambia el slug de un ejercicio",
        ),
        ({"wrong": lambda w: {"server.js": "x"}}, "nombra la variante y luego el archivo"),
        ({"solution": lambda s: {"main.js": "x"}}, "«run.entry» nombra «server.js»"),
    ],
    ids=["misspelt-field", "slug", "wrong-without-variant", "entry-gone"],
)
def test_bad_edits_of_the_manifest_and_solutions_say_what_to_write(
    client: Client, course: None, change: dict, message: str
) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    version = current()
    own = {
        "manifest": manifest_toml(version.manifest),
        "wrong": version.wrong_files,
        "solution": version.solution_files,
    }
    edits = {part: edit(own[part]) for part, edit in change.items()}
    before = GraderVersion.objects.count()
    response = client.post(URL, form_data(version, **edits))
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert GraderVersion.objects.count() == before


@db
def test_the_manifest_and_a_wrong_solution_are_edited_into_a_new_version(
    client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    client.force_login(UserFactory(role=Role.INSTRUCTOR))
    version = current()
    page = client.get(URL).content.decode()
    assert "time_limit_seconds = 30.0" in page and "sin-location/server.js" in page
    manifest = manifest_toml(version.manifest).replace(
        "time_limit_seconds = 30.0", "time_limit_seconds = 20.0"
    )
    wrong = {
        **_flat(version.wrong_files),
        "nueva/server.js": "require('http').createServer().listen(process.env.PORT);\n",
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(URL, form_data(version, manifest=manifest, wrong=wrong))
    assert response.status_code == 302
    edited = GraderVersion.objects.get(exercise__slug="rest-api", number=version.number + 1)
    assert edited.manifest["run"]["time_limit_seconds"] == 20
    assert set(edited.wrong_files) == set(version.wrong_files) | {"nueva"}
    assert edited.solution_files == version.solution_files
