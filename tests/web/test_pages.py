from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from taller.accounts.roles import Role
from taller.courses.models import Exercise
from taller.submissions.models import Submission
from tests.factories import PASSWORD, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def student_client(client: Client):
    student = UserFactory()
    client.force_login(student)
    client.user = student  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("url", ["/curso/", "/ejercicios/rest-api/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, course: None, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_signing_in_and_out(client: Client, course: None) -> None:
    UserFactory(username="ana")
    response = client.post(reverse("login"), {"username": "ana", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("course")
    assert "Integración de Node.js en el backend" in response.content.decode()
    client.post(reverse("logout"))
    assert client.get("/curso/").status_code == 302


def test_the_course_page_lists_sections_in_order_with_best_scores(
    student_client: Client, course: None
) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    for score in (3, 7.5, 5):
        SubmissionFactory(
            student=student_client.user,
            exercise=exercise,
            status="failed",
            score=score,
            max_score=10,
        )
    page = student_client.get("/curso/").content.decode()
    positions = [
        page.index(t) for t in ("Diferencias de runtime", "Desarrollo de APIs", "Microservicios")
    ]
    assert positions == sorted(positions)
    assert "7,5 / 10" in page  # Spanish formats decimals with a comma
    assert "Una API REST de tareas con Express" in page


def test_the_exercise_page_shows_the_statement_editor_and_starter(
    student_client: Client, course: None
) -> None:
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert "<h1>Una API REST de tareas con Express</h1>" in page
    assert 'class="codehilite"' in page  # the seed's example is highlighted
    assert 'name="file:server.js"' in page
    assert "TODO: las rutas de /api/tareas" in page
    assert '<p class="muted" data-attempts-empty>Todavía no enviaste ninguna solución' in page


def test_submitting_stores_an_attempt_and_shows_it(student_client: Client, course: None) -> None:
    code = "require('express')().listen(3000)\n"
    response = student_client.post("/ejercicios/rest-api/", {"file:server.js": code}, follow=True)
    submission = Submission.objects.get()
    assert submission.student == student_client.user
    assert submission.files == {"server.js": code}
    assert submission.status == "queued"
    assert submission.grader_version == Exercise.objects.get(slug="rest-api").current_version
    page = response.content.decode()
    assert "Entrega #1 recibida" in page
    # The editor reopens on the latest code, not the starter.
    assert "require(&#x27;express&#x27;)().listen(3000)" in page


def test_the_attempts_table_lists_every_attempt_and_the_editor_holds_the_latest(
    student_client: Client, course: None
) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    for n, score in ((1, 2), (2, 5), (3, 7)):
        SubmissionFactory(
            student=student_client.user, exercise=exercise, attempt=n, status="failed",
            score=score, max_score=10, files={"server.js": f"// intento {n}"},
            submitted_at=timezone.now() - timedelta(minutes=10 - n),
        )  # fmt: skip
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    rows = page.split("<tbody data-attempts>")[1].split("</tbody>")[0]
    numbers = re.findall(r"<tr data-submission=\"\d+\">\s*<td>(\d+)</td>", rows)
    assert numbers == ["3", "2", "1"]
    assert "7 / 10" in rows and "5 / 10" in rows and "2 / 10" in rows
    assert "// intento 3" in page
    assert "// intento 2" not in page and "// intento 1" not in page


def test_an_attempts_row_shows_when_in_the_sites_time_zone_its_status_and_points(
    student_client: Client, course: None, settings
) -> None:
    settings.TIME_ZONE = "America/Mexico_City"  # UTC-6 all year
    exercise = Exercise.objects.get(slug="rest-api")
    graded = SubmissionFactory(
        student=student_client.user, exercise=exercise, status="failed", score=7.5, max_score=10
    )
    Submission.objects.filter(pk=graded.pk).update(
        submitted_at=datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
    )
    waiting = SubmissionFactory(student=student_client.user, exercise=exercise, status="queued")
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    rows = page.split("<tbody data-attempts>")[1].split("</tbody>")[0]
    assert (
        f'<tr data-submission="{graded.pk}"><td>{graded.attempt}</td>'
        '<td><time datetime="2026-03-01T19:05:00-06:00">01/03/2026 19:05</time></td>'
        '<td><span class="status status-failed">con fallos</span></td><td>7,5 / 10</td></tr>'
    ) in rows
    assert re.search(
        rf'<tr data-submission="{waiting.pk}">.*<span class="status status-queued">en cola</span>'
        r"</td><td>—</td></tr>",
        rows,
    )


def test_a_bad_file_name_is_refused_with_a_message(student_client: Client, course: None) -> None:
    response = student_client.post("/ejercicios/rest-api/", {"file:../server.js": "x"}, follow=True)
    assert "Nombre de archivo no permitido" in response.content.decode()
    assert not Submission.objects.exists()


def test_a_student_sees_only_their_own_attempts(client: Client, course: None) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    ana, beto = UserFactory(), UserFactory()
    SubmissionFactory(student=beto, exercise=exercise, files={"server.js": "// código de beto"})
    client.force_login(ana)
    page = client.get("/ejercicios/rest-api/").content.decode()
    assert "código de beto" not in page
    assert '<p class="muted" data-attempts-empty>Todavía no enviaste ninguna solución' in page


def test_an_unknown_exercise_is_a_404(student_client: Client, course: None) -> None:
    assert student_client.get("/ejercicios/no-existe/").status_code == 404


def test_switching_language_to_english_and_back(student_client: Client, course: None) -> None:
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert '<html lang="es">' in page
    student_client.post("/i18n/setlang/", {"language": "en", "next": "/ejercicios/rest-api/"})
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert '<html lang="en">' in page
    assert "<h1>A REST API for tasks with Express</h1>" in page
    assert "Your attempts" in page
    student_client.post("/i18n/setlang/", {"language": "es", "next": "/curso/"})
    assert "Tus intentos" in student_client.get("/ejercicios/rest-api/").content.decode()


def live_strings(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="live-strings" type="application/json">(.*?)</script>', page)
    assert found, "the page carries no strings for live.js"
    return json.loads(found.group(1))


def test_the_live_panel_strings_follow_the_page_language(
    student_client: Client, course: None
) -> None:
    """They are made once per language: each page still gets its own language's."""
    spanish = live_strings(student_client.get("/ejercicios/rest-api/").content.decode())
    assert spanish["what_failed"] == "Qué falló"
    assert spanish["status"]["queued"] == "en cola"
    student_client.post("/i18n/setlang/", {"language": "en", "next": "/curso/"})
    english = live_strings(student_client.get("/ejercicios/rest-api/").content.decode())
    assert english["what_failed"] == "What failed"
    assert english["status"]["queued"] == "queued"
    student_client.post("/i18n/setlang/", {"language": "es", "next": "/curso/"})
    again = live_strings(student_client.get("/ejercicios/rest-api/").content.decode())
    assert again == spanish


def test_statement_markdown_is_sanitized(student_client: Client, course: None) -> None:
    version = Exercise.objects.get(slug="rest-api").current_version
    version.statement_es += '\n\n<script>alert(1)</script>\n\n<img src="x" onerror="alert(2)">\n'
    version.save()
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "onerror" not in page


def test_pages_carry_security_headers(student_client: Client, course: None) -> None:
    response = student_client.get("/ejercicios/rest-api/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_csrf_is_required_on_forms(course: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post("/ejercicios/rest-api/", {"file:server.js": "x"}).status_code == 403
    assert not Submission.objects.exists()


def test_repeated_failed_sign_ins_are_throttled(client: Client, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="ana")
    for _ in range(3):
        client.post(reverse("login"), {"username": "ana", "password": "mal"})
    response = client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
    assert response.status_code == 429
    assert "Demasiados intentos" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_healthz(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_spanish_is_the_default_whatever_the_browser_prefers(
    student_client: Client, course: None
) -> None:
    page = student_client.get("/curso/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="es">' in page
    assert "Desarrollo de APIs" in page


def test_the_statement_title_is_not_repeated(student_client: Client, course: None) -> None:
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert page.count("Una API REST de tareas con Express") == 2  # <title> and <h1>


def test_what_a_program_prints_is_shown_escaped(student_client: Client, course: None) -> None:
    from taller_grader.results import Results, RunStatus, TestResult, TestStatus

    exercise = Exercise.objects.get(slug="rest-api")
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    results = Results.graded(
        "rest-api",
        [TestResult("1", "prueba", 0, 1, TestStatus.FAILED, output=hostile)],
        execution_time=0.1,
        status=RunStatus.FAILED,
        stdout=hostile,
        stderr=hostile,
    )
    submission = SubmissionFactory(
        student=student_client.user,
        exercise=exercise,
        status="failed",
        score=0,
        max_score=1,
        results=results.to_dict(),
        test_count=1,
    )
    submission.tests.create(
        position=1, number="1", name="prueba", score=0, max_score=1, status="failed",
        output=hostile,
    )  # fmt: skip
    page = student_client.get("/ejercicios/rest-api/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # test output, stdout, stderr


@pytest.mark.parametrize(
    "url",
    [
        f"/envios/{2**70}/estado/",
        f"/api/v1/submissions/{2**70}/",
        f"/docencia/cohortes/{2**70}/",
    ],
)
def test_an_id_too_big_for_the_database_is_not_found(client: Client, url: str) -> None:
    """Not a server error, whatever the database (SQLite overflows on such numbers)."""
    admin = UserFactory(role=Role.ADMIN)
    client.force_login(admin)
    assert client.get(url).status_code == 404


def test_a_template_that_does_not_compile_stops_the_web_process_at_start(
    tmp_path, settings
) -> None:
    from django.template import TemplateSyntaxError

    from taller.web.warmup import warm_up

    (tmp_path / "broken.html").write_text("{% if %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    with pytest.raises(TemplateSyntaxError):
        warm_up()


def test_the_exercise_page_keeps_to_its_query_budget(
    client: Client, course: None, django_assert_max_num_queries
) -> None:
    """What bench/scale.py measured the page at: the signed-in user with their roles, their
    attempts (a row each, without their code and results), the latest one whole and its
    place in the queue; the session and the exercise from the cache."""
    student = UserFactory()
    client.force_login(student)
    exercise = Exercise.objects.get(slug="rest-api")
    for _ in range(3):
        SubmissionFactory(
            student=student, exercise=exercise, status="queued", queued_at=timezone.now()
        )
    client.get("/ejercicios/rest-api/")  # fills the cache, as any earlier visit does
    with django_assert_max_num_queries(4):
        page = client.get("/ejercicios/rest-api/")
    assert page.status_code == 200
    assert "posición <strong>3</strong>" in page.content.decode()
