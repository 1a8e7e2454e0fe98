"""Launches from the test LMS over real HTTP, with real signatures, and their refusals."""

from __future__ import annotations

import pytest
import requests
from django.test import Client
from lti_tool.models import LtiDeployment, LtiUser

from taller.accounts.models import User
from taller.accounts.roles import Role, has_role
from taller.cohorts.models import Cohort, Enrollment
from taller.lti.models import ContextCohort
from tests.factories import CohortFactory
from tests.lti.conftest import Browser, Taller
from tests.lti.lms import Launch, Person, TestLMS, new_key

pytestmark = pytest.mark.django_db(transaction=True)

ANA = Person("lms-user-ana", "Ana", "Pérez", "ana@uni.example", "Learner")
LUIS = Person("lms-user-luis", "Luis", "Gómez", "luis@uni.example", "Instructor")
TERE = Person("lms-user-tere", "Tere", "Ruiz", "tere@uni.example", "TeachingAssistant")


def exercise_launch(taller: Taller, person: Person = ANA, **knobs: object) -> Launch:
    return Launch(person=person, custom={"taller_exercise": taller.exercise.slug}, **knobs)  # type: ignore[arg-type]


def test_a_learner_lands_signed_in_on_the_linked_exercise(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller)))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/ejercicios/{taller.exercise.slug}/"
    page = browser.get(taller.url + response.headers["Location"])
    assert page.status_code == 200
    assert "Una API REST" in page.text
    user = User.objects.get(lti_users__sub=ANA.sub)
    assert user.get_username().startswith("ana-perez-")
    assert user.get_username() in page.text
    assert (user.first_name, user.last_name, user.email) == ("Ana", "Pérez", "ana@uni.example")
    assert has_role(user, Role.STUDENT) and not has_role(user, Role.INSTRUCTOR)
    # The LMS course became a cohort, and she is in it.
    cohort = ContextCohort.objects.get(context__id_on_platform=lms.context_id).cohort
    assert cohort.name == lms.context_title
    assert Enrollment.objects.filter(cohort=cohort, student=user).exists()


def test_the_same_person_is_found_again_by_issuer_and_subject_never_by_email(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    # Someone else already has Ana's email address on Taller: no match by email.
    User.objects.create(username="otra-ana", email=ANA.email)
    browser.launch(lms, taller, lms.prepare(exercise_launch(taller)))
    with Browser() as again:
        again.launch(lms, taller, lms.prepare(exercise_launch(taller)))

    accounts = User.objects.filter(lti_users__sub=ANA.sub).distinct()
    assert accounts.count() == 1
    assert accounts.get().username != "otra-ana"
    assert Cohort.objects.count() == 1


@pytest.mark.parametrize("person", [LUIS, TERE], ids=["instructor", "teaching-assistant"])
def test_instructors_and_assistants_become_the_cohorts_instructors(
    lms: TestLMS, taller: Taller, browser: Browser, person: Person
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller, person)))

    assert response.status_code == 302
    user = User.objects.get(lti_users__sub=person.sub)
    assert has_role(user, Role.INSTRUCTOR)
    cohort = ContextCohort.objects.get().cohort
    assert cohort.instructors.filter(pk=user.pk).exists()
    assert not Enrollment.objects.filter(student=user).exists()


def test_pages_may_be_framed_by_the_registered_platform_only(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller)))
    page = browser.get(taller.url + response.headers["Location"])

    csp = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors {lms.url}" in csp
    assert "X-Frame-Options" not in page.headers
    admin = browser.get(f"{taller.url}/admin/login/")
    assert "frame-ancestors 'none'" in admin.headers["Content-Security-Policy"]
    assert admin.headers["X-Frame-Options"] == "DENY"
    # Someone who did not come from the LMS: no frame at all.
    with Browser() as other:
        login = other.get(f"{taller.url}/entrar/")
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    assert login.headers["X-Frame-Options"] == "DENY"


def test_jwks_publishes_a_key_taller_made_itself(taller: Taller) -> None:
    keys = requests.get(f"{taller.url}/lti/jwks.json", timeout=10).json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]  # never the private part
    # Asked again, the same key: made once, on first use.
    again = requests.get(f"{taller.url}/lti/jwks.json", timeout=10).json()["keys"]
    assert again == keys


def _refused(response: requests.Response, code: str) -> None:
    assert response.status_code == 403, response.text
    assert f'data-code="{code}"' in response.text


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"issuer": "https://otro-lms.example"}, "unknown_platform"),
        ({"audience": "otra-herramienta"}, "unknown_platform"),
        ({"expires_in": -120}, "expired"),
        ({"signing_key": new_key()}, "bad_signature"),
        ({"deployment_id": "dep-desconocido"}, "inactive_deployment"),
    ],
    ids=["wrong-issuer", "wrong-audience", "expired", "another-key", "unknown-deployment"],
)
def test_refused_launches_sign_nobody_in(
    lms: TestLMS, taller: Taller, browser: Browser, knobs: dict[str, object], code: str
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller, **knobs)))

    _refused(response, code)
    assert not LtiUser.objects.exists()
    assert not User.objects.exists()
    assert not Cohort.objects.exists()
    assert browser.get(f"{taller.url}/curso/", allow_redirects=False).status_code == 302


def test_an_unknown_deployment_waits_for_an_admin_to_activate_it(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    hint = lms.prepare(exercise_launch(taller, deployment_id="dep-nuevo"))
    _refused(browser.launch(lms, taller, hint), "inactive_deployment")

    deployment = LtiDeployment.objects.get(deployment_id="dep-nuevo")
    assert not deployment.is_active
    deployment.is_active = True
    deployment.save()
    with Browser() as again:
        response = again.launch(
            lms, taller, lms.prepare(exercise_launch(taller, deployment_id="dep-nuevo"))
        )
    assert response.status_code == 302


def test_a_launch_posted_twice_is_refused_the_second_time(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    first = browser.launch(lms, taller, lms.prepare(exercise_launch(taller)))
    assert first.status_code == 302

    with Browser() as attacker:
        attacker.cookies.update(browser.cookies)
        attacker.last_post = browser.last_post
        _refused(attacker.replay(), "nonce_reused")
    _refused(browser.replay(), "nonce_reused")


def test_an_unregistered_platform_is_refused_at_login(lms: TestLMS, taller: Taller) -> None:
    params = lms.login_params(lms.prepare(exercise_launch(taller)), taller.launch_url)
    params["iss"] = "https://otro-lms.example"
    params["lti1p3_new_window"] = "1"
    response = requests.get(lms.tool_login_url, params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert 'data-code="unknown_platform"' in response.text


def test_configuration_page_gives_what_an_lms_asks_for(
    taller: Taller, admin_client: object
) -> None:
    page = admin_client.get("/lti/configuracion/")  # type: ignore[attr-defined]
    text = page.content.decode()
    assert page.status_code == 200
    for path in ("/lti/inicio/", "/lti/lanzar/", "/lti/jwks.json", "/lti/canvas.json"):
        assert path in text
    assert str(taller.registration.uuid) in text
    canvas = requests.get(f"{taller.url}/lti/canvas.json", timeout=10).json()
    assert canvas["oidc_initiation_url"] == f"{taller.url}/lti/inicio/"
    assert canvas["target_link_uri"] == taller.launch_url
    assert canvas["public_jwk_url"] == f"{taller.url}/lti/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in canvas["scopes"]


@pytest.mark.parametrize(
    "data",
    [{}, {"id_token": "no-es-un-jwt"}, {"id_token": "a.b.c", "state": ""}],
    ids=["empty", "not-a-jwt", "empty-state"],
)
def test_a_post_that_is_no_launch_gets_a_400_with_its_reason(
    taller: Taller, data: dict[str, str]
) -> None:
    response = requests.post(taller.launch_url, data=data, timeout=10)
    assert response.status_code == 400
    assert 'data-code="invalid"' in response.text


def test_a_state_this_browser_was_not_given_is_refused(taller: Taller) -> None:
    response = requests.post(
        taller.launch_url, data={"id_token": "a.b.c", "state": "state-ajeno"}, timeout=10
    )
    assert response.status_code == 403
    assert 'data-code="no_state"' in response.text


def test_the_lms_language_is_kept_unless_the_person_chose_one(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller, locale="en-GB")))
    page = browser.get(taller.url + response.headers["Location"])
    assert page.headers["Content-Language"] == "en"
    assert ">Submit<" in page.text

    # Back to Spanish with the switcher: the next launch in English does not undo it.
    browser.cookies.set("django_language", "es")
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller, locale="en-GB")))
    page = browser.get(taller.url + response.headers["Location"])
    assert page.headers["Content-Language"] == "es"


def test_an_admin_links_the_lms_course_to_an_existing_cohort(
    lms: TestLMS, taller: Taller, browser: Browser, admin_client: Client
) -> None:
    browser.launch(lms, taller, lms.prepare(exercise_launch(taller)))
    link = ContextCohort.objects.get()
    existing = CohortFactory(name="Cohorte 2026-A", course=taller.exercise.section.course)

    response = admin_client.post(
        f"/admin/taller_lti/contextcohort/{link.pk}/change/", {"cohort": existing.pk}
    )
    assert response.status_code == 302

    bea = Person("lms-user-bea", "Bea", "Sanz", "bea@uni.example", "Learner")
    with Browser() as other:
        other.launch(lms, taller, lms.prepare(exercise_launch(taller, bea)))
    assert Enrollment.objects.filter(cohort=existing, student__lti_users__sub=bea.sub).exists()


def test_a_launch_without_a_course_context_still_lands(
    lms: TestLMS, taller: Taller, browser: Browser
) -> None:
    response = browser.launch(lms, taller, lms.prepare(exercise_launch(taller, with_context=False)))
    assert response.status_code == 302
    assert ContextCohort.objects.get().cohort.name == "Test LMS"
