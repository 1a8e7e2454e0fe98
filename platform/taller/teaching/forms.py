from django import forms
from django.utils.translation import gettext_lazy as _

from taller.courses.bundles import MAX_TOTAL_BYTES


class BundleForm(forms.Form):
    bundle = forms.FileField(
        label=_("Paquete del ejercicio (.zip)"),
        help_text=_("exercises/<slug>/ y graders/<slug>/, como en el repositorio."),
    )

    def clean_bundle(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["bundle"]
        if upload.size > MAX_TOTAL_BYTES:
            raise forms.ValidationError(_("El paquete es demasiado grande."))
        return upload


class EnrollmentImportForm(forms.Form):
    csv_file = forms.FileField(
        label=_("Lista de estudiantes (.csv)"),
        help_text=_("Una línea por estudiante: nombre,email. Una cabecera es opcional."),
    )

    def clean_csv_file(self) -> str:
        upload = self.cleaned_data["csv_file"]
        if upload.size > 1024 * 1024:
            raise forms.ValidationError(_("El archivo es demasiado grande (máximo 1 MB)."))
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("El archivo debe estar en UTF-8.")) from None


class JoinForm(forms.Form):
    first_name = forms.CharField(label=_("Nombre"), max_length=150)
    username = forms.RegexField(
        label=_("Usuario"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": _("Solo letras, números y @ . + - _")},
    )
    email = forms.EmailField(label=_("Email"))
    password1 = forms.CharField(label=_("Contraseña"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("Repite la contraseña"), widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        from django.contrib.auth.password_validation import validate_password

        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", _("Las contraseñas no coinciden."))
        elif data.get("password1"):
            try:
                validate_password(str(data["password1"]))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
