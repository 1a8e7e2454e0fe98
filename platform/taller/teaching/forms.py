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
