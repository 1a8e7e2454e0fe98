"""Roles and who may see what: the one place where access is decided.

Roles are Django groups carrying permissions, so an admin can read and change them in
the Django admin. Object-level questions (may this user see that submission?) are
answered here too, so views, the API and the WebSocket consumer agree.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import cache, wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

ViewFunc = Callable[..., HttpResponse]

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

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


def user_with_roles(user_id: Any) -> User | None:
    """The user with this id and their roles, in one query.

    Written out in SQL, unlike the rest of the site, because every signed-in request runs
    it: Django's compiler took 2.3 ms to build the query with its role subqueries, and
    PostgreSQL 1.4 ms to answer it (measured in process; the page went from 13.1 to 9.8 ms).
    A row per group, so that it reads the same on SQLite (the embedded default)."""
    from taller.accounts.models import User

    rows = list(User._default_manager.raw(_user_with_roles_sql(), [user_id]))
    if not rows:
        return None
    user = rows[0]
    names = frozenset(name for row in rows if (name := getattr(row, _ROLE_COLUMN)) is not None)
    setattr(user, _ROLES_CACHE, names)
    user.__dict__.pop(_ROLE_COLUMN)
    return user


_ROLE_COLUMN = "_taller_role_name"


@cache
def _user_with_roles_sql() -> str:
    from django.contrib.auth.models import Group

    from taller.accounts.models import User

    member = User.groups.through._meta
    group_id, user_id = member.get_field("group").column, member.get_field("user").column
    pk = _q(User._meta.pk.column)
    # Only the models' own table and column names go in; the id is a parameter.
    return f"""SELECT u.*, g.{_q(Group._meta.get_field("name").column)} AS {_ROLE_COLUMN}
        FROM {_q(User._meta.db_table)} u
        LEFT JOIN {_q(member.db_table)} m ON m.{_q(user_id)} = u.{pk}
        LEFT JOIN {_q(Group._meta.db_table)} g ON g.{_q(Group._meta.pk.column)} = m.{_q(group_id)}
        WHERE u.{pk} = %s"""  # noqa: S608


def _q(name: str | None) -> str:
    from django.db import connection

    assert name is not None  # concrete fields and tables always have one
    return connection.ops.quote_name(name)


def _role_names(user: User) -> frozenset[str]:
    names: frozenset[str] | None = getattr(user, _ROLES_CACHE, None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _ROLES_CACHE, names)
    return names


def forget_roles(user: User) -> None:
    """After a change of groups, so this user object answers anew."""
    user.__dict__.pop(_ROLES_CACHE, None)


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
    return _teaches(user, cohort.pk)


def _teaches(user: User | AnonymousUser, cohort_id: int | None) -> bool:
    # Only while they hold the role: taking it away ends their access to every cohort
    # they taught at once. It also spares students, on every page, the question.
    if cohort_id is None or user.pk is None or not is_instructor(user):
        return False
    from taller.cohorts.models import Cohort

    return Cohort.instructors.through._default_manager.filter(
        cohort_id=cohort_id, user_id=user.pk
    ).exists()


def can_view_submission(user: User | AnonymousUser, submission: Submission) -> bool:
    """The owner, an instructor of the submission's cohort, or an admin."""
    if not user.is_authenticated:
        return False
    if submission.student_id == user.pk or is_admin(user):
        return True
    return _teaches(user, submission.cohort_id)


def can_see_hidden_tests(user: User | AnonymousUser, submission: Submission) -> bool:
    """Hidden tests' inputs and messages are for staff only, never for the student."""
    if not user.is_authenticated:
        return False
    if is_admin(user):
        return True
    return _teaches(user, submission.cohort_id)


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
    if not is_instructor(user):  # as _teaches: the role, not only the cohort's list
        return Cohort.objects.none()
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
