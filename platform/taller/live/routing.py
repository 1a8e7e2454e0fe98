from django.urls import path, re_path

from taller.live.consumers import NotFoundConsumer, SubmissionConsumer
from taller.web import converters  # noqa: F401 — registers <id:...>

websocket_urlpatterns = [
    path("ws/submissions/<id:submission_id>/", SubmissionConsumer.as_asgi()),
    # Last: any other path (a typo, an id that is not a number or too long for one)
    # is a refused handshake, not a "No route found" traceback and a 500 in the log.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
