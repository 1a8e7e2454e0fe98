"""The similarity report's pages: for the cohort's instructors and admins, never students."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from taller.accounts.roles import Role
from taller.similarity.models import SimilarityReport
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory
from tests.similarity.cohort import disguise
from tests.similarity.conftest import World, signed_in
from tests.similarity.solutions import INDEPENDENT

pytestmark = pytest.mark.django_db

Analyse = Callable[..., SimilarityReport]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def report(world: World, analyse: Analyse) -> SimilarityReport:
    world.submit("ana", INDEPENDENT[0])
    world.submit("beto", disguise(dict(INDEPENDENT[0]), ("rename", "reorder", "comment"), 4))
    world.submit("carla", INDEPENDENT[5])
    return analyse()


def urls(world: World, report: SimilarityReport) -> list[str]:
    base = f"/docencia/cohortes/{world.cohort.pk}/similitud/"
    pair = report.pairs.order_by("-similarity").first()
    assert pair is not None
    return [
        base,
        f"{base}?exercise={world.exercise.slug}",
        f"{base}{report.pk}/estado/",
        f"{base}{report.pk}/pares/{pair.pk}/",
    ]


def test_only_the_cohorts_staff_see_the_report(world: World, report: SimilarityReport) -> None:
    stranger = UserFactory(role=Role.INSTRUCTOR)
    CohortFactory().instructors.add(stranger)
    for url in urls(world, report):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/entrar/")
        # Students, the ones compared included, never see it.
        assert signed_in(world.students["ana"]).get(url).status_code == 403, url
        assert signed_in(world.students["beto"]).get(url).status_code == 403, url
        assert signed_in(stranger).get(url).status_code == 404, url
        assert signed_in(world.teacher).get(url).status_code == 200, url
        assert signed_in(UserFactory(role=Role.ADMIN)).get(url).status_code == 200, url


def test_a_student_cannot_start_an_analysis(world: World) -> None:
    student = UserFactory()
    EnrollmentFactory(cohort=world.cohort, student=student)
    url = f"/docencia/cohortes/{world.cohort.pk}/similitud/"
    assert signed_in(student).post(url, {"exercise": world.exercise.slug}).status_code == 403
    assert not SimilarityReport.objects.exists()


def test_the_report_lists_pairs_groups_and_a_side_by_side_view(
    world: World, report: SimilarityReport
) -> None:
    page = signed_in(world.teacher).get(
        f"/docencia/cohortes/{world.cohort.pk}/similitud/?exercise={world.exercise.slug}"
    )
    text = text_of(page.content.decode())
    assert "Analizados 3 envíos" in text
    assert "Ana" in text and "Beto" in text
    assert "Carla" not in text.split("Grupos")[1]  # not in any group
    assert "Fragmento compartido más largo" in text and "Solapamiento total" in text
    pair = report.pairs.order_by("-similarity").first()
    assert pair is not None and pair.similarity > 0.8
    assert f"/similitud/{report.pk}/pares/{pair.pk}/" in page.content.decode()
    side = signed_in(world.teacher).get(
        f"/docencia/cohortes/{world.cohort.pk}/similitud/{report.pk}/pares/{pair.pk}/"
    )
    html = side.content.decode()
    assert html.count('class="shared"') >= 10  # lines marked on both sides
    assert "app.post(&#x27;/tasks&#x27;" in html  # Ana's own code, escaped
    assert "Fragmentos compartidos" in html


def test_asking_twice_finds_the_same_report_and_a_new_attempt_offers_a_new_one(
    world: World, report: SimilarityReport, django_capture_on_commit_callbacks: object
) -> None:
    teacher = signed_in(world.teacher)
    url = f"/docencia/cohortes/{world.cohort.pk}/similitud/"
    again = teacher.post(url, {"exercise": world.exercise.slug}, follow=True)
    assert "Nada ha cambiado desde el último análisis" in again.content.decode()
    assert SimilarityReport.objects.count() == 1
    assert "Volver a analizar" not in again.content.decode()
    world.submit("carla", INDEPENDENT[6])
    page = teacher.get(f"{url}?exercise={world.exercise.slug}")
    assert "Hay envíos nuevos desde este análisis" in page.content.decode()
    assert "Volver a analizar" in page.content.decode()


def test_progress_while_the_analysis_runs(world: World) -> None:
    running = SimilarityReport.objects.create(
        cohort=world.cohort,
        exercise=world.exercise,
        inputs_key="x" * 64,
        state=SimilarityReport.State.RUNNING,
        progress={"stage": "tokenize", "done": 7, "total": 30},
    )
    teacher = signed_in(world.teacher)
    base = f"/docencia/cohortes/{world.cohort.pk}/similitud/"
    page = teacher.get(f"{base}?exercise={world.exercise.slug}").content.decode()
    assert "Leyendo los envíos: 7 de 30" in text_of(page)
    assert f"{base}{running.pk}/estado/" in page
    status = teacher.get(f"{base}{running.pk}/estado/").json()
    assert status == {
        "state": "running",
        "state_label": "analizando",
        "finished": False,
        "stage": "tokenize",
        "stage_label": "Leyendo los envíos",
        "done": 7,
        "total": 30,
    }


def test_bad_choices_are_refused_with_their_reason(world: World) -> None:
    teacher = signed_in(world.teacher)
    base = f"/docencia/cohortes/{world.cohort.pk}/similitud/"
    unknown = teacher.get(f"{base}?exercise=no-existe")
    assert unknown.status_code == 400
    assert (
        "Escoja una opción válida" in unknown.content.decode()
        or "válida" in unknown.content.decode()
    )
    low = teacher.get(f"{base}?exercise={world.exercise.slug}&umbral=-5")
    assert low.status_code == 400
    assert teacher.post(base, {"exercise": "no-existe"}).status_code == 400
    assert not SimilarityReport.objects.exists()


def test_the_page_speaks_english_on_request(world: World, report: SimilarityReport) -> None:
    teacher = signed_in(world.teacher)
    teacher.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = teacher.get(
        f"/docencia/cohortes/{world.cohort.pk}/similitud/?exercise={world.exercise.slug}"
    )
    text = text_of(page.content.decode())
    assert "Similar submissions" in text
    assert "Longest shared fragment" in text and "Total overlap" in text
