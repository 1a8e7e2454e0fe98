from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from taller.accounts.roles import (
    Role,
    can_see_hidden_tests,
    can_view_submission,
    is_admin,
    is_instructor,
)
from taller.accounts.services import create_user, set_role
from tests.factories import CohortFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_migrate_creates_one_group_per_role_with_permissions() -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {"student", "instructor", "admin"} <= names
    admin = Group.objects.get(name="admin")
    assert admin.permissions.filter(codename="add_cohort").exists()
    assert not Group.objects.get(name="student").permissions.filter(codename="add_cohort").exists()


def test_roles_carry_their_permissions() -> None:
    student = create_user(username="s", password="x", role=Role.STUDENT)
    teacher = create_user(username="t", password="x", role=Role.INSTRUCTOR)
    admin = create_user(username="a", password="x", role=Role.ADMIN)
    assert student.has_perm("submissions.add_submission")
    assert not student.has_perm("submissions.view_submission")
    assert teacher.has_perm("courses.add_graderversion") and not teacher.has_perm(
        "cohorts.add_cohort"
    )
    assert admin.has_perm("cohorts.add_cohort") and admin.is_staff
    assert is_instructor(teacher) and not is_admin(teacher)


def test_changing_a_role_replaces_the_old_one() -> None:
    user = create_user(username="u", password="x", role=Role.STUDENT)
    assert not is_instructor(user)  # asked before the change, on the same object
    set_role(user, Role.INSTRUCTOR)
    assert list(user.groups.values_list("name", flat=True)) == ["instructor"]
    assert is_instructor(user)


def test_who_may_see_a_submission() -> None:
    cohort, other_cohort = CohortFactory(), CohortFactory()
    owner, stranger = UserFactory(), UserFactory()
    teacher, other_teacher = UserFactory(role=Role.INSTRUCTOR), UserFactory(role=Role.INSTRUCTOR)
    admin = UserFactory(role=Role.ADMIN)
    cohort.instructors.add(teacher)
    other_cohort.instructors.add(other_teacher)
    submission = SubmissionFactory(student=owner, cohort=cohort)

    assert can_view_submission(owner, submission)
    assert can_view_submission(teacher, submission)
    assert can_view_submission(admin, submission)
    assert not can_view_submission(stranger, submission)
    assert not can_view_submission(other_teacher, submission)
    # Hidden tests are for staff of the cohort, not for the student who was graded.
    assert not can_see_hidden_tests(owner, submission)
    assert can_see_hidden_tests(teacher, submission)
    assert not can_see_hidden_tests(other_teacher, submission)


def test_staff_cohorts_and_what_staff_may_do_with_them() -> None:
    from taller.accounts.roles import can_enroll, can_manage_cohort, can_regrade, staff_cohorts

    teacher = UserFactory(role=Role.INSTRUCTOR)
    admin = UserFactory(role=Role.ADMIN)
    student = UserFactory()
    mine, theirs = CohortFactory(), CohortFactory()
    mine.instructors.add(teacher)
    assert list(staff_cohorts(teacher)) == [mine]
    assert set(staff_cohorts(admin)) == {mine, theirs}
    assert not staff_cohorts(student).exists()
    assert can_manage_cohort(teacher, mine) and not can_manage_cohort(teacher, theirs)
    assert can_enroll(admin, mine) and not can_enroll(teacher, mine)
    own = SubmissionFactory(student=student, cohort=mine)
    assert can_regrade(teacher, own) and can_regrade(admin, own)
    assert not can_regrade(student, own)


def test_the_signed_in_user_arrives_with_their_roles_and_a_change_is_seen() -> None:
    from taller.accounts.backends import RolesModelBackend

    teacher = create_user(username="t2", password="x", role=Role.INSTRUCTOR)
    loaded = RolesModelBackend().get_user(teacher.pk)
    assert loaded is not None
    assert is_instructor(loaded) and not is_admin(loaded)
    set_role(loaded, Role.ADMIN)
    assert is_admin(loaded) and not is_instructor(loaded)


def test_the_signed_in_user_is_loaded_with_their_roles_in_one_query(
    django_assert_num_queries,
) -> None:
    from taller.accounts.backends import RolesModelBackend

    admin = create_user(username="a2", password="x", role=Role.ADMIN)
    with django_assert_num_queries(1):
        loaded = RolesModelBackend().get_user(admin.pk)
        assert loaded is not None and loaded.username == "a2"
        assert is_admin(loaded) and not is_instructor(loaded)
    assert RolesModelBackend().get_user(admin.pk + 1000) is None
    admin.is_active = False
    admin.save()
    assert RolesModelBackend().get_user(admin.pk) is None


def test_an_instructor_whose_role_is_taken_away_no_longer_sees_their_cohorts_runs() -> None:
    from taller.accounts.roles import can_manage_cohort, staff_cohorts

    teacher = UserFactory(role=Role.INSTRUCTOR)
    cohort = CohortFactory()
    cohort.instructors.add(teacher)
    run = SubmissionFactory(cohort=cohort)
    assert can_view_submission(teacher, run) and can_see_hidden_tests(teacher, run)
    assert can_manage_cohort(teacher, cohort)

    set_role(teacher, Role.STUDENT)
    assert not can_view_submission(teacher, run)
    assert not can_see_hidden_tests(teacher, run)
    assert not can_manage_cohort(teacher, cohort)
    assert not staff_cohorts(teacher).exists()
