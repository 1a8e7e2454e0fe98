"""Roles and who may see what: the one place where access is decided.

Roles are Django groups carrying permissions, so an admin can read and change them in
the Django admin. Object-level questions (may this user see that submission?) are
answered here too, so views, the API and the WebSocket consumer agree.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse

ViewFunc = Callable[..., HttpResponse]

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from taller.accounts.models import User
    from taller.cohorts.models import Cohort
    from taller.submissions.models import Submission


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


# Permissions each role's group carries (app_label.codename).
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STUDENT: ("submissions.add_submission",),
    Role.INSTRUCTOR: (
        "submissions.add_submission",
        "submissions.view_submission",
        "courses.view_exercise",
        "courses.change_exercise",
        "courses.add_graderversion",
        "courses.view_graderversion",
        "cohorts.view_cohort",
        "cohorts.view_enrollment",
    ),
    Role.ADMIN: (
        "submissions.add_submission",
        "submissions.view_submission",
        "submissions.change_submission",
        "courses.view_exercise",
        "courses.change_exercise",
        "courses.add_graderversion",
        "courses.view_graderversion",
        "cohorts.add_cohort",
        "cohorts.change_cohort",
        "cohorts.view_cohort",
        "cohorts.delete_cohort",
        "cohorts.add_enrollment",
        "cohorts.change_enrollment",
        "cohorts.view_enrollment",
        "cohorts.delete_enrollment",
        "cohorts.add_cohortexercise",
        "cohorts.change_cohortexercise",
        "cohorts.view_cohortexercise",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_user",
    ),
}


# A page asks about roles several times (navigation, who may watch a run): asked once per
# user object, as Django caches permissions on it (`_perm_cache`), and answered by the
# query that loads the signed-in user (accounts/backends.py) when it can be.
_ROLES_CACHE = "_taller_roles"


def _has_role_column(role: Role) -> str:
    return f"_taller_has_role_{role.value}"


def with_roles(users: QuerySet[User]) -> QuerySet[User]:
    """Users with their roles, in the same query."""
    from django.contrib.auth.models import Group

    return users.annotate(
        **{
            _has_role_column(role): Exists(Group.objects.filter(user=OuterRef("pk"), name=role))
            for role in Role
        }
    )


def _role_names(user: User) -> frozenset[str]:
    names: frozenset[str] | None = getattr(user, _ROLES_CACHE, None)
    if names is None:
        if hasattr(user, _has_role_column(Role.STUDENT)):
            names = frozenset(role.value for role in Role if getattr(user, _has_role_column(role)))
        else:
            names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _ROLES_CACHE, names)
    return names


def forget_roles(user: User) -> None:
    """After a change of groups, so this user object answers anew."""
    user.__dict__.pop(_ROLES_CACHE, None)
    for role in Role:
        user.__dict__.pop(_has_role_column(role), None)


def has_role(user: User | AnonymousUser, role: Role) -> bool:
    if not user.is_authenticated:
        return False
    if role is Role.ADMIN and user.is_superuser:
        return True
    return role.value in _role_names(user)


def is_admin(user: User | AnonymousUser) -> bool:
    return has_role(user, Role.ADMIN)


def is_instructor(user: User | AnonymousUser) -> bool:
    return has_role(user, Role.INSTRUCTOR)


def teaches(user: User | AnonymousUser, cohort: Cohort) -> bool:
    return user.is_authenticated and cohort.instructors.filter(pk=user.pk).exists()


def can_view_submission(user: User | AnonymousUser, submission: Submission) -> bool:
    """The owner, an instructor of the submission's cohort, or an admin."""
    if not user.is_authenticated:
        return False
    if submission.student_id == user.pk or is_admin(user):
        return True
    return submission.cohort is not None and teaches(user, submission.cohort)


def can_see_hidden_tests(user: User | AnonymousUser, submission: Submission) -> bool:
    """Hidden tests' inputs and messages are for staff only, never for the student."""
    if not user.is_authenticated:
        return False
    if is_admin(user):
        return True
    return submission.cohort is not None and teaches(user, submission.cohort)


def is_staff_member(user: User | AnonymousUser) -> bool:
    """Instructors and admins: those who may read cohorts at all."""
    return is_admin(user) or is_instructor(user)


def staff_cohorts(user: User | AnonymousUser) -> QuerySet[Cohort]:
    """The cohorts this person may manage: every cohort for an admin, the ones they teach
    for an instructor, none for anyone else."""
    from taller.cohorts.models import Cohort

    if not user.is_authenticated:
        return Cohort.objects.none()
    if is_admin(user):
        return Cohort.objects.all()
    return Cohort.objects.filter(instructors=user)


def can_manage_cohort(user: User | AnonymousUser, cohort: Cohort) -> bool:
    """Read the cohort's roster, gradebook and submissions, and regrade them."""
    return is_admin(user) or teaches(user, cohort)


def can_enroll(user: User | AnonymousUser, cohort: Cohort) -> bool:
    """Changing who is in a cohort is an admin's job; instructors only read it."""
    return is_admin(user)


def can_create_cohort(user: User | AnonymousUser) -> bool:
    """New cohorts are the admin's (issue #8: admins manage cohorts)."""
    return is_admin(user)


def can_edit_cohort(user: User | AnonymousUser, cohort: Cohort) -> bool:
    """Name, course, dates, late policy and who teaches it: the admin's. An instructor of
    the cohort reads all of it on the cohort page but changes none of it, not even which
    instructors it has (that would let one instructor hand a cohort to another)."""
    return is_admin(user)


def can_set_deadlines(user: User | AnonymousUser, cohort: Cohort) -> bool:
    """Deadlines belong to the cohort's calendar with its dates and late policy, so they are
    the admin's too; the cohort's instructors see them (read-only) on the same page."""
    return is_admin(user)


def can_regrade(user: User | AnonymousUser, submission: Submission) -> bool:
    """Regrading is the staff's tool, never the student's (it would dodge the rate limit)."""
    return can_see_hidden_tests(user, submission)


def role_required(check: Callable[[Any], bool]) -> Callable[[ViewFunc], ViewFunc]:
    """A view decorator: sign-in first, then the role check (403 if it fails)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
