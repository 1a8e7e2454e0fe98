from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from taller.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("curso/", views.course_view, name="course"),
    path("ejercicios/<slug:slug>/", views.exercise_view, name="exercise"),
    path(
        "envios/<int:submission_id>/estado/",
        views.submission_status,
        name="submission-status",
    ),
    path(
        "entrar/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("taller.api.urls")),
]
