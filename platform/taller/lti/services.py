"""Writes for LTI: Taller's key, launches, line items, scores owed and sent, rosters.

A launch becomes a Taller account (found by the platform's issuer and subject, never
by email), a role, a cohort for the LMS course, and an enrolment. Scores go back
through an outbox (ScoreSync): the grade change and the row that owes it to the LMS
commit together, a task sends it after the commit, and a failed send stays visible
and is sent again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import requests
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from lti_tool.lti_core.utils import normalize_role
from lti_tool.models import (
    Key,
    LtiContext,
    LtiLaunch,
    LtiLineItem,
    LtiMembership,
    LtiRegistration,
    LtiResourceLink,
    LtiUser,
)
from lti_tool.services.nrps import fetch_member_data
from pylti1p3.assignments_grades import AssignmentsGradesService, TAssignmentsGradersData
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade as AgsGrade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from taller.accounts.models import User
from taller.accounts.roles import Role, has_role, is_admin
from taller.accounts.services import ensure_role_groups, set_role
from taller.cohorts.models import Cohort, Enrollment
from taller.cohorts.services import cohort_create
from taller.courses.models import Course, Exercise
from taller.courses.selectors import course_get
from taller.grading import dispatch
from taller.lti import selectors
from taller.lti.models import ContextCohort, ScoreSync, UsedNonce
from taller.lti.selectors import COURSE_PREFIX, EXERCISE_PREFIX

# The Celery tasks (lti/tasks.py) services send by name, through grading/dispatch.py.
SEND_SCORE = "taller.lti_send_score"
SYNC_ROSTER = "taller.lti_sync_roster"

logger = logging.getLogger(__name__)

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTRUCTOR_ROLES = {
    f"{MEMBERSHIP}#Instructor",
    f"{MEMBERSHIP}#TeachingAssistant",
    f"{MEMBERSHIP}/Instructor#TeachingAssistant",
    f"{MEMBERSHIP}#Administrator",
}
LEARNER_ROLES = {f"{MEMBERSHIP}#Learner", f"{MEMBERSHIP}/Learner#Learner"}
CUSTOM_EXERCISE = "taller_exercise"
CUSTOM_COURSE = "taller_course"
SCORE_LEASE = timedelta(seconds=60)
NEW_COHORT_DAYS = 180
ROSTER_MAX_AGE = timedelta(hours=1)


class LtiError(Exception):
    """A launch that is valid but cannot be served; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# Keys ------------------------------------------------------------------------------


def tool_key_ensure() -> Key:
    """Taller's signing key, made on first use (never shipped, never committed)."""
    key = Key.objects.active().order_by("-datetime_created").first()
    if key is not None:
        return key
    with transaction.atomic():
        # Two first uses at once would make two keys: harmless (both are published), but
        # the lock on the registrations' table keeps it to one where it can.
        list(LtiRegistration.objects.select_for_update().all()[:1])
        key = Key.objects.active().order_by("-datetime_created").first()
        return key or Key.objects.generate()


def frame_origins_forget() -> None:
    cache.delete(selectors.FRAME_ORIGINS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(selectors.FRAME_ORIGINS_CACHE_KEY))


# Launch -----------------------------------------------------------------------------


def launch_role(roles: list[str]) -> Role | None:
    """Instructor (or teaching assistant) → instructor; learner → student; else none."""
    normalized = {normalize_role(r) for r in roles or []}
    if normalized & INSTRUCTOR_ROLES:
        return Role.INSTRUCTOR
    if normalized & LEARNER_ROLES:
        return Role.STUDENT
    return None


def _username_for(lti_user: LtiUser) -> str:
    """A readable, free user name: the person's name and a digest of who they are in
    the LMS (user names show in gradebooks; nobody signs in with this one)."""
    digest = hashlib.sha256(
        f"{lti_user.registration.issuer}\x00{lti_user.sub}".encode()
    ).hexdigest()
    base = slugify(f"{lti_user.given_name} {lti_user.family_name}".strip() or lti_user.name)[:40]
    for candidate in (f"{base or 'lti'}-{digest[:6]}", f"lti-{digest[:24]}"):
        if not User.objects.filter(username=candidate).exists():
            return candidate
    return f"lti-{digest[:40]}"


def account_for(lti_user: LtiUser, role: Role) -> User:
    """The Taller account of an LMS user: the one already linked to this issuer's
    subject (under any client id of that issuer), else a new one without a password."""
    # Two first launches at once (a double click) make one account, not two.
    lti_user = (
        LtiUser.objects.select_for_update().select_related("registration").get(pk=lti_user.pk)
    )
    if lti_user.auth_user_id is not None:
        user = lti_user.auth_user
    else:
        twin = (
            LtiUser.objects.filter(
                registration__issuer=lti_user.registration.issuer,
                sub=lti_user.sub,
                auth_user__isnull=False,
            )
            .select_related("auth_user")
            .first()
        )
        if twin is not None and twin.auth_user is not None:
            user = twin.auth_user
        else:
            user = User.objects.create(
                username=_username_for(lti_user),
                password=make_password(None),
                email=lti_user.email,
                first_name=lti_user.given_name[:150],
                last_name=lti_user.family_name[:150],
            )
            user.groups.add(ensure_role_groups()[role])
        lti_user.auth_user = user
        lti_user.save(update_fields=["auth_user", "datetime_modified"])
    # The launch may raise a student to instructor; it never lowers anyone, nor touches
    # an admin (roles are site-wide, and a TA in one course may be a learner in another).
    if role is Role.INSTRUCTOR and not has_role(user, Role.INSTRUCTOR) and not is_admin(user):
        set_role(user, Role.INSTRUCTOR)
    return user


def context_cohort(context: LtiContext, course: Course) -> Cohort:
    """The context's cohort: the one an admin linked, else a new one for the course."""
    # The first launches of a course, at once, make one cohort.
    LtiContext.objects.select_for_update().filter(pk=context.pk).first()
    link = ContextCohort.objects.filter(context=context).select_related("cohort").first()
    if link is not None:
        return link.cohort
    today = date.today()
    name = context.title or context.label or context.id_on_platform
    cohort = cohort_create(
        name=(name or str(context.deployment.registration))[:200],
        course=course,
        starts_on=today,
        ends_on=today + timedelta(days=NEW_COHORT_DAYS),
    )
    ContextCohort.objects.create(context=context, cohort=cohort)
    return cohort


def join_cohort(cohort: Cohort, user: User, role: Role) -> None:
    if role is Role.INSTRUCTOR or has_role(user, Role.INSTRUCTOR) or is_admin(user):
        if role is Role.INSTRUCTOR:
            cohort.instructors.add(user)
        return
    Enrollment.objects.get_or_create(cohort=cohort, student=user)


def launch_target(lti_launch: LtiLaunch) -> Exercise | Course | None:
    """What a link opens: its custom parameter (set by deep linking, or by hand)."""
    slug = lti_launch.get_custom_claim(CUSTOM_EXERCISE)
    if slug:
        return Exercise.objects.filter(slug=slug, is_published=True).first()
    slug = lti_launch.get_custom_claim(CUSTOM_COURSE)
    if slug:
        return Course.objects.filter(slug=slug).first()
    return course_get()


def resource_id_of(target: Exercise | Course) -> str:
    if isinstance(target, Exercise):
        return f"{EXERCISE_PREFIX}{target.slug}"
    return f"{COURSE_PREFIX}{target.slug}"


@dataclass(frozen=True)
class LaunchOutcome:
    user: User
    role: Role
    cohort: Cohort
    target: Exercise | Course


@transaction.atomic
def launch_accept(lti_launch: LtiLaunch) -> LaunchOutcome:
    """A validated launch, already synced into django-lti's models: the account, its
    role, the cohort and what to open. LtiError when Taller cannot serve it."""
    role = launch_role(lti_launch.roles_claim or [])
    if role is None:
        raise LtiError("no_role")
    target = None if lti_launch.is_deep_link_launch else launch_target(lti_launch)
    if lti_launch.is_resource_launch and target is None:
        raise LtiError("no_target")
    course = target if isinstance(target, Course) else None
    if isinstance(target, Exercise):
        course = target.section.course
    course = course or course_get()
    if course is None:
        raise LtiError("no_course")
    user = account_for(lti_launch.user, role)
    cohort = context_cohort(lti_launch.context, course)
    join_cohort(cohort, user, role)
    if lti_launch.is_resource_launch and target is not None:
        try:
            with transaction.atomic():
                line_item_record(lti_launch, target)
        except (LtiException, requests.RequestException) as exc:
            # The platform's line item service failed: the student still gets in, and
            # the next launch of this link tries again.
            logger.warning("lti launch: no line item for %s: %s", resource_id_of(target), exc)
    return LaunchOutcome(user=user, role=role, cohort=cohort, target=target or course)


def _connector(registration: LtiRegistration) -> ServiceConnector:
    tool_key_ensure()
    return ServiceConnector(registration.to_registration())


def line_item_record(lti_launch: LtiLaunch, target: Exercise | Course) -> LtiLineItem | None:
    """The line item this link's scores go to: the one the launch names, else one
    found or made through AGS when the platform allows it."""
    claim = lti_launch.ags_claim or {}
    context = lti_launch.context
    resource_id = resource_id_of(target)
    url = claim.get("lineitem", "")
    label = str(target.title)[:255]
    maximum = target_max_score(target)
    if not url:
        scopes = claim.get("scope", [])
        if (
            not claim.get("lineitems")
            or LtiLineItem.objects.filter(context=context, resource_id=resource_id).exists()
        ):
            return LtiLineItem.objects.filter(context=context, resource_id=resource_id).first()
        if "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem" not in scopes:
            return None
        ags = AssignmentsGradesService(
            _connector(lti_launch.registration), cast(TAssignmentsGradersData, claim)
        )
        found = ags.find_or_create_lineitem(
            LineItem()
            .set_label(label)
            .set_score_maximum(maximum)
            .set_resource_id(resource_id)
            .set_tag(resource_id),
            find_by="resource_id",
        )
        url = found.get_id() or ""
        if not url:
            return None
    line_item, _created = LtiLineItem.objects.update_or_create(
        url=url,
        defaults={
            "context": context,
            "resource_id": resource_id,
            "resource_link": LtiResourceLink.objects.filter(
                context=context, id_on_platform=(lti_launch.resource_link_claim or {}).get("id")
            ).first(),
            "label": label,
            "maximum_score": maximum,
        },
    )
    return line_item


def deep_link_resource(target: Exercise | Course, launch_url: str) -> DeepLinkResource:
    """What deep linking places in the LMS course: a link to Taller's launch URL whose
    custom parameter names the exercise (or the course), with a graded line item."""
    custom = (
        {CUSTOM_EXERCISE: target.slug}
        if isinstance(target, Exercise)
        else {CUSTOM_COURSE: target.slug}
    )
    resource_id = resource_id_of(target)
    return (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(str(target.title))
        .set_custom_params(custom)
        .set_lineitem(
            LineItem()
            .set_score_maximum(target_max_score(target))
            .set_label(str(target.title))
            .set_resource_id(resource_id)
            .set_tag(resource_id)
        )
    )


def target_max_score(target: Exercise | Course) -> float:
    if isinstance(target, Exercise):
        return selectors.exercise_max_score(target) or 100.0
    exercises = Exercise.objects.filter(section__course=target, is_published=True)
    return sum(selectors.exercise_max_score(e) or 0.0 for e in exercises) or 100.0


# Scores -----------------------------------------------------------------------------


def grade_changed(
    *, cohort_id: int, exercise: Exercise, student_id: int | None = None
) -> list[int]:
    """A grade for this exercise (and so a course total) may have changed, one
    student's (a new score) or everyone's in the cohort (None: a new deadline): every
    line item of the cohort's LMS courses that shows it is owed a send. Call inside the
    transaction that changed it; the sends are queued on commit."""
    resource_ids = [
        f"{EXERCISE_PREFIX}{exercise.slug}",
        f"{COURSE_PREFIX}{exercise.section.course.slug}",
    ]
    line_items = LtiLineItem.objects.filter(
        context__taller_cohort__cohort_id=cohort_id, resource_id__in=resource_ids
    ).select_related("context__deployment")
    if not line_items.exists():
        return []
    if student_id is None:
        student_ids = list(
            Enrollment.objects.filter(cohort_id=cohort_id).values_list("student_id", flat=True)
        )
    else:
        student_ids = [student_id]
    return _owe(line_items, cohort_id=cohort_id, student_ids=student_ids)


def cohort_grades_resend(cohort: Cohort) -> list[int]:
    """Every grade of the cohort sent again (after a change of deadline or policy, or
    when an LMS lost them)."""
    line_items = selectors.cohort_line_items(cohort)
    if not line_items.exists():
        return []
    student_ids = list(cohort.enrollments.values_list("student_id", flat=True))
    return _owe(
        selectors.cohort_line_items(cohort).select_related("context__deployment"),
        cohort_id=cohort.pk,
        student_ids=student_ids,
    )


def _owe(line_items: Any, *, cohort_id: int, student_ids: list[int]) -> list[int]:
    ids: list[int] = []
    with transaction.atomic():
        for line_item in line_items:
            registration_id = line_item.context.deployment.registration_id
            for lti_user in LtiUser.objects.filter(
                registration_id=registration_id, auth_user_id__in=student_ids
            ):
                sync, created = ScoreSync.objects.get_or_create(
                    line_item=line_item,
                    lti_user=lti_user,
                    defaults={"student_id": lti_user.auth_user_id, "cohort_id": cohort_id},
                )
                if not created:
                    ScoreSync.objects.filter(pk=sync.pk).update(
                        revision=F("revision") + 1,
                        state=ScoreSync.State.PENDING,
                        next_attempt_at=None,
                    )
                ids.append(sync.pk)
        for sync_id in ids:
            score_send_enqueue(sync_id)
    return ids


def score_send_enqueue(sync_id: int, countdown: float = 0) -> None:
    transaction.on_commit(lambda: _dispatch_send(sync_id, countdown))


def _dispatch_send(sync_id: int, countdown: float = 0) -> None:
    try:
        dispatch.send(SEND_SCORE, sync_id, countdown=countdown)
    except Exception:
        # Runs after the grade's commit: whatever stops the queueing (a broker down, an
        # eager retry in tests) must not undo or fail the grading. The row is still owed
        # and the beat task sends it.
        logger.warning("lti score %s: not queued; left for the retry sweep", sync_id, exc_info=True)


# The embedded server has no Celery and no beat: its own timer retries a failed send
# this many times (the cohort's LMS page resends after that).
IN_PROCESS_RETRIES = 5


def send_in_process(sync_id: int) -> str:
    """The embedded server's send (lti/apps.py runs it in its thread pool)."""
    outcome = score_send(sync_id)
    if outcome in ("failed", "busy"):
        attempts = ScoreSync.objects.filter(pk=sync_id).values_list("attempts", flat=True).first()
        if attempts is not None and attempts <= IN_PROCESS_RETRIES:
            delay = retry_delay(attempts) if outcome == "failed" else SCORE_LEASE.total_seconds()
            timer = threading.Timer(delay, _dispatch_send, args=(sync_id,))
            timer.daemon = True
            timer.start()
    return outcome


def retry_delay(attempts: int) -> float:
    return float(min(3600, 30 * 2 ** max(0, attempts - 1)))


@transaction.atomic
def _claim(sync_id: int) -> tuple[ScoreSync, int] | str:
    sync = ScoreSync.objects.select_for_update().filter(pk=sync_id).first()
    if sync is None:
        return "gone"
    now = timezone.now()
    if sync.sent_revision >= sync.revision:
        if sync.state != ScoreSync.State.SENT:
            sync.state = ScoreSync.State.SENT
            sync.save(update_fields=["state", "updated_at"])
        return "done"
    if sync.state == ScoreSync.State.SENDING and sync.lease_until and sync.lease_until > now:
        return "busy"
    sync.state = ScoreSync.State.SENDING
    sync.lease_until = now + SCORE_LEASE
    sync.attempts += 1
    sync.save(update_fields=["state", "lease_until", "attempts", "updated_at"])
    return sync, sync.revision


def score_send(sync_id: int) -> str:
    """Send the score the gradebook shows now. "sent", "done" (nothing owed), "busy"
    (another sender holds it), "failed" (kept, with the error, to be sent again)."""
    claimed = _claim(sync_id)
    if isinstance(claimed, str):
        return claimed
    sync, revision = claimed
    line_item = LtiLineItem.objects.select_related("context__deployment__registration").get(
        pk=sync.line_item_id
    )
    grade = selectors.student_grade(sync.cohort, sync.student, line_item.resource_id)
    try:
        if grade is not None:
            _post_score(line_item, sync.lti_user.sub, grade)
    except Exception as exc:  # the LMS or the network: kept and retried, never lost
        logger.warning("lti score %s: send failed: %s", sync_id, exc)
        with transaction.atomic():
            sync = ScoreSync.objects.select_for_update().get(pk=sync_id)
            sync.state = ScoreSync.State.FAILED
            sync.last_error = _describe(exc)[:2000]
            sync.lease_until = None
            sync.next_attempt_at = timezone.now() + timedelta(seconds=retry_delay(sync.attempts))
            sync.save()
        return "failed"
    with transaction.atomic():
        sync = ScoreSync.objects.select_for_update().get(pk=sync_id)
        sync.sent_revision = max(sync.sent_revision, revision)
        if grade is not None:
            sync.score_given = grade.score_given
            sync.score_maximum = grade.score_maximum
            sync.sent_at = timezone.now()
        sync.last_error = ""
        sync.lease_until = None
        sync.next_attempt_at = None
        # A change that arrived while this one was on its way is owed too.
        owed = sync.sent_revision < sync.revision
        sync.state = ScoreSync.State.PENDING if owed else ScoreSync.State.SENT
        sync.save()
        if owed:
            score_send_enqueue(sync.pk)
    return "sent"


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):
        return f"HTTP {response.status_code}: {response.text[:500]}"
    return f"{exc.__class__.__name__}: {exc}"


def _post_score(line_item: LtiLineItem, sub: str, grade: selectors.Grade) -> None:
    registration = line_item.context.deployment.registration
    ags = AssignmentsGradesService(
        _connector(registration),
        {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitems": line_item.context.lineitems_url,
            "lineitem": line_item.url,
        },
    )
    score = (
        AgsGrade()
        .set_score_given(grade.score_given)
        .set_score_maximum(grade.score_maximum)
        .set_timestamp(timezone.now().isoformat())
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        .set_user_id(sub)
    )
    ags.put_grade(score, LineItem({"id": line_item.url}))


def scores_owed() -> list[int]:
    """Rows to send again: failed ones whose wait is over, pending ones nobody sent
    (a lost task, a restart), and sends whose sender vanished. For the beat task."""
    now = timezone.now()
    owed = ScoreSync.objects.filter(sent_revision__lt=F("revision")).exclude(
        state=ScoreSync.State.SENDING, lease_until__gt=now
    )
    owed = owed.exclude(next_attempt_at__gt=now)
    ids = list(owed.values_list("pk", flat=True)[:500])
    for sync_id in ids:
        _dispatch_send(sync_id)
    return ids


# Roster -----------------------------------------------------------------------------


def roster_sync(link_id: int) -> int:
    """Read the LMS course's members (NRPS) into the cohort: new learners get an account
    and an enrolment, instructors join the cohort's staff, and who left is marked so,
    never deleted. Returns the number of members read."""
    link = ContextCohort.objects.select_related("cohort", "context__deployment__registration").get(
        pk=link_id
    )
    context = link.context
    try:
        tool_key_ensure()
        members = fetch_member_data(context)
    except Exception as exc:
        ContextCohort.objects.filter(pk=link_id).update(roster_error=_describe(exc)[:2000])
        raise
    with transaction.atomic():
        context.update_memberships(members)
        present = {m["user_id"] for m in members}
        LtiMembership.objects.filter(context=context).exclude(user__sub__in=present).update(
            is_active=False
        )
        for member in members:
            role = launch_role(member.get("roles", []))
            if role is None or member.get("status", "Active") != "Active":
                continue
            lti_user = LtiUser.objects.get(
                registration=context.deployment.registration, sub=member["user_id"]
            )
            user = account_for(lti_user, role)
            join_cohort(link.cohort, user, role)
        ContextCohort.objects.filter(pk=link_id).update(
            roster_synced_at=timezone.now(), roster_error=""
        )
    return len(members)


def roster_refresh_if_stale(link: ContextCohort) -> bool:
    """On a launch: the roster is read again when it was never read or is older than
    ROSTER_MAX_AGE (an LMS course changes slowly; a launch is frequent)."""
    if link.context.memberships_url and (
        link.roster_synced_at is None or link.roster_synced_at < timezone.now() - ROSTER_MAX_AGE
    ):
        roster_sync_enqueue(link.pk)
        return True
    return False


def nonces_prune() -> int:
    """Launch nonces past any id_token's life (pylti1p3 keeps the ones it issued a day)."""
    deleted, _ = UsedNonce.objects.filter(used_at__lt=timezone.now() - timedelta(days=2)).delete()
    return deleted


def roster_sync_enqueue(link_id: int) -> None:
    transaction.on_commit(lambda: dispatch.send(SYNC_ROSTER, link_id))


def context_link(*, context: LtiContext, cohort: Cohort) -> ContextCohort:
    """An admin links an LMS course to an existing cohort (instead of a new one)."""
    link, _created = ContextCohort.objects.update_or_create(
        context=context, defaults={"cohort": cohort}
    )
    return link
