from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LtiConfig(AppConfig):
    name = "taller.lti"
    label = "taller_lti"
    verbose_name = _("LTI")

    def ready(self) -> None:
        # The receivers; the Celery tasks, registered with the app; and, for the embedded
        # default, what runs each task name in the server's own thread pool.
        from taller.grading import dispatch, inprocess
        from taller.lti import services, signals, tasks  # noqa: F401

        def send(sync_id: int) -> object:
            return inprocess.executor().submit_call(services.send_in_process, sync_id)

        def roster(link_id: int) -> object:
            return inprocess.executor().submit_call(services.roster_sync, link_id)

        dispatch.register_in_process(services.SEND_SCORE, send)
        dispatch.register_in_process(services.SYNC_ROSTER, roster)
