"""Forms for the admins' cohort pages: details and instructors, deadlines, one enrolment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from taller.accounts.models import User
from taller.accounts.roles import is_instructor
from taller.cohorts.models import Cohort
from taller.cohorts.selectors import DeadlineRow, instructor_choices
from taller.cohorts.services import deadline_fits, deadline_outside_message
from taller.courses.models import Course, Exercise

# What <input type="date"> and <input type="datetime-local"> send and expect.
DATE_INPUT = "%Y-%m-%d"
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class InstructorsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        full = obj.get_full_name()
        label = f"{full} ({obj.username})" if full else obj.username
        if not is_instructor(obj):
            # Still assigned though no longer an instructor: shown so it can be unticked.
            label += " — " + str(_("sin rol de docente"))
        return label


class CohortForm(forms.Form):
    name = forms.CharField(label=_("Nombre"), max_length=200)
    course = forms.ModelChoiceField(
        label=_("Curso"), queryset=Course.objects.order_by("pk"), empty_label=None
    )
    starts_on = forms.DateField(
        label=_("Empieza"),
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_INPUT),
    )
    ends_on = forms.DateField(
        label=_("Termina"),
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_INPUT),
    )
    late_penalty_percent_per_day = forms.DecimalField(
        label=_("Penalización por día de retraso (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        help_text=_("De 0 a 100. Se resta de la nota por cada día tarde."),
    )
    late_days_accepted = forms.IntegerField(
        label=_("Días de retraso aceptados"),
        min_value=0,
        max_value=365,
        help_text=_("Pasados estos días después del plazo, el envío ya no cuenta."),
    )
    instructors = InstructorsField(
        label=_("Docentes"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Marca a quien enseña en esta cohorte; desmarca para quitarlo."),
    )

    def __init__(
        self, *args: Any, cohort: Cohort | None = None, course_locked: bool = False, **kwargs: Any
    ) -> None:
        if cohort is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": cohort.name,
                "course": cohort.course_id,
                "starts_on": cohort.starts_on,
                "ends_on": cohort.ends_on,
                "late_penalty_percent_per_day": cohort.late_penalty_percent_per_day,
                "late_days_accepted": cohort.late_days_accepted,
                "instructors": list(cohort.instructors.values_list("pk", flat=True)),
            }
        super().__init__(*args, **kwargs)
        instructors = self.fields["instructors"]
        assert isinstance(instructors, InstructorsField)
        instructors.queryset = instructor_choices(cohort)
        if course_locked:
            # A disabled field keeps its initial value whatever is posted.
            self.fields["course"].disabled = True
            self.fields["course"].help_text = _(
                "La cohorte ya tiene plazos o envíos: su curso no cambia."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("La cohorte no puede terminar antes de empezar."))
        return data


class DeadlinesForm(forms.Form):
    """One optional datetime per published exercise of the cohort's course.

    Times are read and shown in the site's time zone (settings.TIME_ZONE): Django's
    DateTimeField interprets naive input in the current time zone, which is that one.
    A deadline outside the cohort's dates is refused, row by row.
    """

    def __init__(self, *args: Any, cohort: Cohort, rows: list[DeadlineRow], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cohort = cohort
        self.exercises: dict[str, Exercise] = {}
        for row in rows:
            name = f"deadline-{row.exercise.pk}"
            self.exercises[name] = row.exercise
            self.fields[name] = forms.DateTimeField(
                label=row.exercise.title,
                required=False,
                initial=row.deadline,
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
            )

    def rows(self) -> Iterator[tuple[Exercise, forms.BoundField]]:
        for name, exercise in self.exercises.items():
            yield exercise, self[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.exercises:
            when = data.get(name)
            if when is not None and not deadline_fits(
                starts_on=self.cohort.starts_on, ends_on=self.cohort.ends_on, deadline=when
            ):
                self.add_error(name, deadline_outside_message(self.cohort))
        return data

    def deadlines(self) -> dict[Exercise, datetime | None]:
        return {exercise: self.cleaned_data.get(name) for name, exercise in self.exercises.items()}


class EnrolForm(forms.Form):
    identifier = forms.CharField(
        label=_("Usuario o email"),
        max_length=254,
        help_text=_("Un email que nadie usa crea una cuenta nueva con enlace de activación."),
    )
    first_name = forms.CharField(
        label=_("Nombre (solo para una cuenta nueva)"), max_length=150, required=False
    )
