"""The exercise page shows a failed test as a student can act on it: the check in the
reader's language, the request and the answer with a "copy as curl" button, the test's
own output, and where most failures start; hidden tests show nothing but their number
and score. The attempts table's new row gets the site's date format."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from taller.courses.models import Exercise
from taller.grading.services import detail_of
from taller.submissions.models import Submission
from taller.web.templatetags.taller import attempt_rows
from taller_grader.results import (
    Check,
    Exchange,
    HttpRequest,
    HttpResponse,
    Results,
    TestResult,
    TestStatus,
    Visibility,
)
from tests.factories import SubmissionFactory, TestResultFactory, UserFactory

pytestmark = pytest.mark.django_db

CURL = (
    "curl -i http://127.0.0.1:3000/api/tareas -H 'Content-Type: application/json' "
    '--data-raw \'{"titulo": "Comprar pan"}\''
)
SECRET_LINE = "REQ POST /api/tareas hidden-input-xyz"


def _failed(number: str, name: str, name_en: str) -> TestResult:
    return TestResult(
        number=number,
        name=name,
        name_en=name_en,
        score=0,
        max_score=1,
        status=TestStatus.FAILED,
        output="POST /api/tareas: se esperaba el estado 201 y llegó 404 con el cuerpo …",
        check=Check(
            "status",
            {"method": "POST", "path": "/api/tareas", "expected": [201], "got": 404, "body": "x"},
        ),
        exchanges=(
            Exchange(
                request=HttpRequest(
                    "POST",
                    "/api/tareas",
                    {"Content-Type": "application/json"},
                    '{"titulo": "Comprar pan"}',
                ),
                response=HttpResponse(
                    404, {"content-type": "application/json"}, '{"error":"no existe"}', 0.01
                ),
                curl=CURL,
            ),
        ),
        stdout=f"REQ POST /api/tareas visible-{number}\n",
    )


@pytest.fixture
def student(course) -> Client:
    user = UserFactory()
    exercise = Exercise.objects.get(slug="rest-api")
    tests = [
        _failed("1", "POST /api/tareas crea una tarea", "POST /api/tareas creates a task"),
        _failed("2", "GET /api/tareas lista", "GET /api/tareas lists"),
        replace(
            _failed("3", "PUT /api/tareas/:id reemplaza", "PUT /api/tareas/:id replaces"),
            exchanges=(
                *_failed("3", "", "").exchanges,
                Exchange(description="AMQP: ningún mensaje llegó a la cola tareas en 5 s"),
            ),
        ),
        TestResult(
            number="4",
            name="oculta: título de solo espacios",
            score=0,
            max_score=1,
            status=TestStatus.FAILED,
            output="POST /api/tareas con hidden-input-xyz: se esperaba 400",
            visibility=Visibility.HIDDEN,
            exchanges=_failed("4", "", "").exchanges,
            stdout=SECRET_LINE + "\n",
        ),
    ]
    results = Results.graded("rest-api", tests, execution_time=1.0, stdout="escuchando\n")
    submission = SubmissionFactory(
        student=user,
        exercise=exercise,
        status=Submission.Status.FAILED,
        score=0,
        max_score=4,
        test_count=4,
        results=results.to_dict(),
        finished_at=timezone.now(),
    )
    for position, test in enumerate(tests, start=1):
        TestResultFactory(
            submission=submission,
            position=position,
            number=test.number,
            name=test.name,
            score=test.score,
            max_score=test.max_score,
            status=test.status.value,
            output=test.output,
            visibility=test.visibility.value,
            detail=detail_of(test),
        )
    client = Client()
    client.force_login(user)
    client.submission = submission  # type: ignore[attr-defined]
    return client


def _page(client: Client, language: str) -> str:
    # The language switcher's cookie: the only way a page turns English.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/ejercicios/rest-api/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_a_failed_test_in_spanish(student: Client) -> None:
    page = _page(student, "es")
    assert "POST /api/tareas: se esperaba el estado 201 y llegó 404." in page
    assert "3 pruebas fallan primero en POST /api/tareas → 404: empieza por ahí." in page
    assert "HTTP 404 Not Found" in page and "Cabeceras (1)" in page
    assert '"error": "no existe"' in page  # the JSON body, pretty-printed
    assert page.count(CURL) >= 6  # shown, and on each test's copy button
    assert 'class="btn btn-sm copy-curl"' in page and "Copiar como curl" in page
    assert "REQ POST /api/tareas visible-1" in page
    assert "POST /api/tareas crea una tarea" in page
    assert "prueba oculta 4" in page
    assert SECRET_LINE not in page and "hidden-input-xyz" not in page
    assert "escuchando" in page  # outside any test: the run's own output
    # Another protocol than HTTP: a plain description, no request/response panel.
    assert '<p class="exchange-description">AMQP: ningún mensaje llegó a la cola tareas' in page


def test_a_failed_test_in_english(student: Client) -> None:
    page = _page(student, "en")
    assert "POST /api/tareas: expected status 201, got 404." in page
    assert "3 tests fail first at POST /api/tareas → 404: start there." in page
    assert "POST /api/tareas creates a task" in page and "Copy as curl" in page
    assert "What your program wrote during this test" in page
    assert "hidden test 4" in page and "prueba oculta" not in page
    assert "hidden-input-xyz" not in page
    # live.js says the same from the same words: they are in the page's strings.
    assert '"start_there_many": "%(n)s tests fail first at %(request)s: start there."' in page


def test_the_polling_json_carries_what_the_page_renders_live(student: Client) -> None:
    submission = student.submission  # type: ignore[attr-defined]
    data = student.get(f"/envios/{submission.pk}/estado/").json()
    first = data["tests"][0]
    assert first["check"]["code"] == "status" and first["exchanges"][0]["curl"] == CURL
    assert first["name_en"] == "POST /api/tareas creates a task"
    assert first["stdout"] == "REQ POST /api/tareas visible-1\n"
    hidden = data["tests"][3]
    assert hidden["name"] == "prueba oculta 4" and "exchanges" not in hidden
    assert "hidden-input-xyz" not in str(data)


def test_a_new_attempt_row_gets_the_sites_date_format(
    course, client: Client, django_capture_on_commit_callbacks
) -> None:
    user = UserFactory()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/ejercicios/rest-api/",
            {"file:server.js": "console.log(1)\n"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 202
    shown = response.json()["submitted_at_display"]
    rows = str(attempt_rows(list(_rows(user))))
    assert re.search(rf">{re.escape(shown)}</time>", rows)


def _rows(user):  # type: ignore[no-untyped-def]
    from taller.submissions.selectors import attempt_rows as rows

    return rows(student=user, exercise=Exercise.objects.get(slug="rest-api"))
