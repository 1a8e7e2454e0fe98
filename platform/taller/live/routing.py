from django.urls import path

from taller.live.consumers import SubmissionConsumer
from taller.web import converters  # noqa: F401 — registers <id:...>

websocket_urlpatterns = [
    path("ws/submissions/<id:submission_id>/", SubmissionConsumer.as_asgi()),
]
