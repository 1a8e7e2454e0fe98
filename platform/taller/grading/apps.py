from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "taller.grading"
    verbose_name = _("Calificación")

    def ready(self) -> None:
        # What runs the task names services send (grading/dispatch.py): the Celery tasks,
        # registered with the app here rather than on the app's first use, and in the
        # embedded default the server's own thread pool.
        from taller.grading import dispatch, inprocess, services, tasks  # noqa: F401

        def grade(submission_id: int) -> object:
            return inprocess.executor().submit(submission_id)

        def validate(version_id: int) -> object:
            return inprocess.executor().submit_call(services.grader_version_validate, version_id)

        dispatch.register_in_process(dispatch.GRADE_SUBMISSION, grade)
        dispatch.register_in_process(dispatch.VALIDATE_GRADER_VERSION, validate)
