"""LTI's edges: JWKS, OIDC login, launch, deep linking, configuration and status pages.
Thin: django-lti and pylti1p3 do the protocol, services.py decides what a launch means."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from lti_tool.constants import SESSION_KEY
from lti_tool.models import Key, LtiRegistration
from lti_tool.utils import sync_data_from_launch
from lti_tool.views import LtiLaunchBaseView, OIDCLoginInitView
from pylti1p3.exception import LtiException, OIDCException

from taller.accounts.roles import Role, can_manage_cohort, is_admin, role_required
from taller.cohorts.models import Cohort
from taller.courses.models import Course, Exercise
from taller.courses.selectors import course_get, published_exercises
from taller.lti import protocol, selectors, services
from taller.lti.models import ScoreSync

BACKEND = "taller.accounts.backends.RolesModelBackend"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


def _messages() -> dict[str, str]:
    return {
        "unknown_platform": _("Esta plataforma no está registrada en Taller."),
        "bad_signature": _("La firma del inicio no es válida."),
        "expired": _("El inicio ha caducado: vuelve a abrir la actividad desde el LMS."),
        "nonce_reused": _("Este inicio ya se usó: vuelve a abrir la actividad desde el LMS."),
        "nonce_unknown": _(
            "Taller no pidió este inicio: vuelve a abrir la actividad desde el LMS."
        ),
        "no_state": _(
            "Tu navegador no envió la cookie del inicio. Abre la actividad en una ventana nueva."
        ),
        "inactive_deployment": _(
            "Este despliegue de la plataforma no está activado en Taller: pide a un "
            "administrador que lo active."
        ),
        "no_role": _("Taller solo acepta estudiantes y docentes del curso."),
        "no_target": _("Este enlace no apunta a ningún ejercicio publicado de Taller."),
        "no_course": _("Taller todavía no tiene ningún curso."),
        "invalid": _("El inicio LTI no es válido."),
    }


def _refuse(
    request: HttpRequest, code: str, detail: str = "", status: int | None = None
) -> HttpResponse:
    # Not a launch at all: 400; a launch Taller will not accept: 403.
    status = status or (400 if code == "invalid" else 403)
    message = _messages().get(code, _messages()["invalid"])
    return render(
        request,
        "lti/error.html",
        {"message": message, "code": code, "detail": detail},
        status=status,
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """Taller's public keys, with which platforms check what Taller signs."""
    services.tool_key_ensure()
    return JsonResponse(Key.objects.as_jwks())


@method_decorator((csrf_exempt, xframe_options_exempt), name="dispatch")
class LoginInitView(OIDCLoginInitView):
    """Step one of a launch: the LMS sends the browser here, Taller sends it back to
    the LMS's authorisation endpoint with a state (a cookie) and a nonce."""

    def get_oidc_response(
        self, request: HttpRequest, registration_uuid: Any, params: Any
    ) -> HttpResponse:
        services.tool_key_ensure()
        oidc = protocol.oidc_login(request, registration_uuid)
        try:
            return oidc.enable_check_cookies().redirect(
                request.build_absolute_uri(reverse("lti-launch"))
            )
        except (OIDCException, LtiException) as exc:
            return _refuse(request, protocol.refusal(exc).code, str(exc), status=400)


@method_decorator(csrf_exempt, name="dispatch")
class LaunchView(LtiLaunchBaseView):
    """Step two: the id_token the LMS posts, checked, then the person signed in."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _refuse(request, "invalid", "GET", status=405)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        try:
            lti_launch = protocol.launch_from_request(request)
            deployment = lti_launch.deployment
        except protocol.Refused as exc:
            return _refuse(request, exc.code, exc.detail)
        # Before anything of the launch is kept: a deployment nobody activated (the
        # platform's admin may have made it without telling Taller's) gets nothing.
        if not deployment.is_active:
            return _refuse(
                request,
                "inactive_deployment",
                f"deployment_id={deployment.deployment_id}",
            )
        if (
            lti_launch.is_deep_link_launch
            and services.launch_role(lti_launch.roles_claim or []) is not Role.INSTRUCTOR
        ):
            # Placing content in the course is the instructor's.
            return _refuse(request, "no_role")
        try:
            sync_data_from_launch(lti_launch)
            outcome = services.launch_accept(lti_launch)
        except services.LtiError as exc:
            return _refuse(request, exc.code)
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            # A signed token whose claims are not shaped as LTI says (a platform's bug).
            return _refuse(request, "invalid", f"{exc.__class__.__name__}: {exc}")
        login(request, outcome.user, backend=BACKEND)
        request.session[SESSION_KEY] = lti_launch.get_launch_id()
        services.roster_refresh_if_stale(lti_launch.context.taller_cohort)
        if lti_launch.is_deep_link_launch:
            return _deep_link_picker(request, lti_launch.get_launch_id(), outcome.cohort.course)
        if lti_launch.is_resource_launch:
            if isinstance(outcome.target, Exercise):
                response = redirect("exercise", slug=outcome.target.slug)
            else:
                response = redirect("course")
            _language_from_lms(request, response, lti_launch)
            return response
        return _refuse(request, "invalid", "message_type")


def _language_from_lms(request: HttpRequest, response: HttpResponse, lti_launch: Any) -> None:
    """The LMS's language for someone who never chose one here (the switcher's choice
    wins): the same cookie the switcher sets."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    locale = str((lti_launch.launch_presentation_claim or {}).get("locale") or "")
    language = locale.replace("_", "-").split("-")[0].lower()
    if language in {code for code, _name in settings.LANGUAGES}:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )


def _deep_link_picker(request: HttpRequest, launch_id: str, course: Course) -> HttpResponse:
    exercises = published_exercises().filter(section__course=course).select_related("section")
    return render(
        request,
        "lti/deep_link.html",
        {"launch_id": launch_id, "course": course, "exercises": exercises},
    )


@require_POST
def deep_link_view(request: HttpRequest) -> HttpResponse:
    """The instructor's choice, sent back to the LMS as a signed deep-linking response."""
    launch_id = request.POST.get("launch_id", "")
    if launch_id != request.session.get(SESSION_KEY):
        return _refuse(request, "no_state", status=400)
    lti_launch = protocol.launch_from_cache(request, launch_id)
    if lti_launch is None or not lti_launch.is_deep_link_launch:
        return _refuse(request, "no_state", status=400)
    choice = request.POST.get("item", "")
    course = course_get()
    target: Exercise | Course | None
    if choice.startswith(selectors.COURSE_PREFIX) and course is not None:
        target = course if choice == services.resource_id_of(course) else None
    else:
        target = (
            published_exercises()
            .filter(slug=choice.removeprefix(selectors.EXERCISE_PREFIX))
            .first()
        )
    if target is None:
        if course is None:
            return _refuse(request, "no_course")
        response = _deep_link_picker(request, launch_id, course)
        response.status_code = 400
        return response
    resource = services.deep_link_resource(
        target, request.build_absolute_uri(reverse("lti-launch"))
    )
    message_launch = lti_launch.get_message_launch()
    deep_link = message_launch.get_deep_link()
    dl_settings = message_launch.get_launch_data()[
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    ]
    return_url = dl_settings["deep_link_return_url"]
    response = render(
        request,
        "lti/deep_link_return.html",
        {"return_url": return_url, "jwt": deep_link.get_response_jwt([resource]), "target": target},
    )
    # The form goes back to the LMS: the one place a form may leave the site.
    origin = selectors.origin_of(return_url)
    if origin:
        response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]
    return response


def _tool_urls(request: HttpRequest) -> dict[str, str]:
    return {
        "login": request.build_absolute_uri(reverse("lti-login")),
        "launch": request.build_absolute_uri(reverse("lti-launch")),
        "jwks": request.build_absolute_uri(reverse("lti-jwks")),
        "canvas": request.build_absolute_uri(reverse("lti-canvas")),
    }


@role_required(is_admin)
@require_GET
def config_view(request: HttpRequest) -> HttpResponse:
    """What an LMS admin types in when registering Taller, and the registrations."""
    services.tool_key_ensure()
    urls = _tool_urls(request)
    registrations = [
        (
            r,
            request.build_absolute_uri(reverse("lti-login-registration", args=[r.uuid])),
            list(r.deployments.all()),
        )
        for r in LtiRegistration.objects.prefetch_related("deployments").order_by("name")
    ]
    return render(
        request,
        "lti/config.html",
        {
            "urls": urls,
            "registrations": registrations,
            "public_jwk": Key.objects.as_jwks()["keys"][-1],
        },
    )


@require_GET
def canvas_config_view(request: HttpRequest) -> JsonResponse:
    """Canvas's JSON configuration ("Enter URL" when adding an LTI key)."""
    urls = _tool_urls(request)
    host = urlsplit(urls["launch"]).hostname or ""
    placement = {
        "text": "Taller",
        "enabled": True,
        "message_type": "LtiDeepLinkingRequest",
        "target_link_uri": urls["launch"],
    }
    return JsonResponse(
        {
            "title": "Taller",
            "description": _("Ejercicios de Node.js calificados automáticamente."),
            "oidc_initiation_url": urls["login"],
            "target_link_uri": urls["launch"],
            "public_jwk_url": urls["jwks"],
            "scopes": AGS_SCOPES,
            "extensions": [
                {
                    "domain": host,
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",
                    "settings": {
                        "placements": [
                            {**placement, "placement": "assignment_selection"},
                            {**placement, "placement": "link_selection"},
                        ]
                    },
                }
            ],
            "custom_fields": {},
        }
    )


@require_http_methods(["GET", "POST"])
def cohort_status_view(request: HttpRequest, cohort_id: int) -> HttpResponse:
    """The cohort's LMS side: its courses, roster (who left included), and every score
    owed to the LMS with what happened to it; resend and read the roster again."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    cohort = get_object_or_404(Cohort, pk=cohort_id)
    if not can_manage_cohort(request.user, cohort):
        raise PermissionDenied
    links = list(selectors.cohort_contexts(cohort))
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "resend":
            n = len(services.cohort_grades_resend(cohort))
            messages.success(request, _("%(n)s notas en cola para el LMS.") % {"n": n})
        elif action == "roster":
            for link in links:
                services.roster_sync_enqueue(link.pk)
            messages.success(request, _("Leyendo la lista de la clase del LMS."))
        else:
            raise Http404
        return redirect("lti-cohort", cohort_id=cohort.pk)
    syncs = list(selectors.cohort_score_syncs(cohort))
    return render(
        request,
        "lti/cohort.html",
        {
            "cohort": cohort,
            "links": links,
            "roster": selectors.cohort_roster(cohort),
            "syncs": syncs,
            "failed": sum(1 for s in syncs if s.state == ScoreSync.State.FAILED),
            "line_items": list(selectors.cohort_line_items(cohort)),
        },
    )
