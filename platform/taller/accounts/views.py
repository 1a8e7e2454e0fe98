"""Sign-in, as Django's, answering a refused sign-in as the site answers any refusal."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse


class LoginView(auth_views.LoginView):
    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        # The form again with its errors, as a 400: a wrong password is a refusal.
        response = super().form_invalid(form)
        response.status_code = 400
        return response
