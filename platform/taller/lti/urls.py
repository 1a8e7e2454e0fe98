from django.urls import path

from taller.lti import views

urlpatterns = [
    path("jwks.json", views.jwks, name="lti-jwks"),
    path("inicio/", views.LoginInitView.as_view(), name="lti-login"),
    path(
        "inicio/<uuid:registration_uuid>/",
        views.LoginInitView.as_view(),
        name="lti-login-registration",
    ),
    path("lanzar/", views.LaunchView.as_view(), name="lti-launch"),
    path("enlace-profundo/", views.deep_link_view, name="lti-deep-link"),
    path("configuracion/", views.config_view, name="lti-config"),
    path("canvas.json", views.canvas_config_view, name="lti-canvas"),
    path("cohortes/<id:cohort_id>/", views.cohort_status_view, name="lti-cohort"),
]
