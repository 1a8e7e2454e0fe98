from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimilarityConfig(AppConfig):
    name = "taller.similarity"
    verbose_name = _("Similitud")

    def ready(self) -> None:
        # What runs the task name the services send (grading/dispatch.py): the Celery task,
        # registered with the app here, and in the embedded default the server's pool.
        from taller.grading import dispatch, inprocess
        from taller.similarity import services, tasks  # noqa: F401

        def analyse(report_id: int) -> object:
            return inprocess.executor().submit_call(services.similarity_run, report_id)

        dispatch.register_in_process(services.ANALYSE_SIMILARITY, analyse)
