"""Instructors: edit an exercise on the site, saved as a new grader version.

The edit goes the way of a bundle upload: stored as a draft version, validated like
check_graders (the reference gets full marks, every wrong solution loses points), and
published only by hand once valid.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from taller.accounts.roles import is_staff_member, role_required
from taller.courses.bundles import MAX_FILES, MAX_TOTAL_BYTES, manifest_toml
from taller.courses.content import MAX_CONTENT_FILE_BYTES, ContentError, manifest_from_text
from taller.courses.models import GraderVersion
from taller.courses.services import VersionError, grader_version_upload, version_content_edited
from taller.grading.services import grader_version_enqueue_validation
from taller.teaching import selectors
from taller.web.markdown import render_markdown
from taller_grader.manifest import PATH_CHARS, Manifest, is_relative_path

_PATH_CHARS = re.compile(PATH_CHARS)


def _text(value: str) -> str:
    # Browsers send textareas with CRLF; the files are stored as written on disk.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _check_size(label: str, text: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_CONTENT_FILE_BYTES:
        raise forms.ValidationError(
            _("%(f)s ocupa %(n)s bytes; el máximo es %(max)s.")
            % {"f": label, "n": size, "max": MAX_CONTENT_FILE_BYTES}
        )


class StatementForm(forms.Form):
    # The version the form was filled from: an edit never lands on a newer one unseen.
    base = forms.IntegerField(widget=forms.HiddenInput)
    statement_es = forms.CharField(
        label=gettext_lazy("Enunciado en español (Markdown)"),
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 16, "lang": "es", "maxlength": MAX_CONTENT_FILE_BYTES}
        ),
    )
    statement_en = forms.CharField(
        label=gettext_lazy("Enunciado en inglés (Markdown)"),
        strip=False,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 16, "lang": "en", "maxlength": MAX_CONTENT_FILE_BYTES}
        ),
    )

    manifest = forms.CharField(
        label=gettext_lazy("manifest.toml"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "maxlength": 64 * 1024}),
    )

    def __init__(self, *args: Any, slug: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug

    def clean_manifest(self) -> Manifest:
        text = _text(self.cleaned_data["manifest"])
        try:
            return manifest_from_text(text, Path("exercises") / self.slug / "manifest.toml")
        except ContentError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_statement_es(self) -> str:
        text = _text(self.cleaned_data["statement_es"])
        if not text.strip():
            raise forms.ValidationError(_("El enunciado en español no puede quedar vacío."))
        _check_size("statement.es.md", text)
        return text

    def clean_statement_en(self) -> str:
        text = _text(self.cleaned_data["statement_en"])
        _check_size("statement.en.md", text)
        return text


class FileForm(forms.Form):
    path = forms.CharField(
        label=gettext_lazy("Nombre del archivo"),
        max_length=200,
        strip=True,
        error_messages={"required": gettext_lazy("El archivo necesita un nombre.")},
    )
    content = forms.CharField(
        label=gettext_lazy("Contenido"),
        strip=False,
        required=False,
        # The browser stops a paste past the limit; the server checks bytes anyway.
        widget=forms.Textarea(
            attrs={"rows": 14, "spellcheck": "false", "maxlength": MAX_CONTENT_FILE_BYTES}
        ),
    )

    def clean_path(self) -> str:
        name = self.cleaned_data["path"]
        if ".." in PurePosixPath(name).parts:
            raise forms.ValidationError(_("«..» no está permitido en un nombre de archivo."))
        if not _PATH_CHARS.match(name) or not is_relative_path(name):
            raise forms.ValidationError(
                _(
                    "%(name)s: usa una ruta relativa con letras, números, «_», «-», «.» y «/» "
                    "(por ejemplo, lib/util.js)."
                )
                % {"name": name}
            )
        return name

    def clean_content(self) -> str:
        text = _text(self.cleaned_data["content"])
        _check_size(self.cleaned_data.get("path") or _("El archivo"), text)
        return text


class BaseFileFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def _kept(self) -> list[forms.Form]:
        # An untouched blank row has no cleaned data; a ticked "delete" drops the file.
        return [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        total = 0
        for form in self._kept():
            path = form.cleaned_data["path"]
            if path in seen:
                raise forms.ValidationError(_("%(p)s aparece dos veces.") % {"p": path})
            seen.add(path)
            total += len(form.cleaned_data["content"].encode("utf-8"))
        if total > MAX_TOTAL_BYTES:
            raise forms.ValidationError(
                _("Los archivos ocupan %(n)s bytes; el máximo es %(max)s.")
                % {"n": total, "max": MAX_TOTAL_BYTES}
            )

    def file_map(self) -> dict[str, str]:
        return {f.cleaned_data["path"]: f.cleaned_data["content"] for f in self._kept()}


class VariantFileFormSet(BaseFileFormSet):
    """Alternatives and wrong solutions: each file named `<variant>/<path>`."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        for form in self._kept():
            path = form.cleaned_data["path"]
            if "/" not in path:
                raise forms.ValidationError(
                    _(
                        "%(p)s: nombra la variante y luego el archivo, como en la carpeta: "
                        "sin-location/server.js"
                    )
                    % {"p": path}
                )

    def variants(self) -> dict[str, dict[str, str]]:
        grouped: dict[str, dict[str, str]] = {}
        for path, text in self.file_map().items():
            name, rest = path.split("/", 1)
            grouped.setdefault(name, {})[rest] = text
        return grouped


FileFormSet: type[BaseFileFormSet] = forms.formset_factory(  # type: ignore[assignment]
    FileForm,
    formset=BaseFileFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_FILES,
    validate_max=True,
)


VariantFormSet: type[VariantFileFormSet] = forms.formset_factory(  # type: ignore[assignment]
    FileForm,
    formset=VariantFileFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_FILES,
    validate_max=True,
)


def _initial_files(files: dict[str, str]) -> list[dict[str, str]]:
    return [{"path": p, "content": t} for p, t in sorted(files.items())]


def _initial_variants(variants: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    return _initial_files(
        {f"{name}/{path}": text for name, files in variants.items() for path, text in files.items()}
    )


@role_required(is_staff_member)
@require_http_methods(["GET", "POST"])
def exercise_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = selectors.exercise_for_staff(slug)
    if exercise is None:
        raise Http404
    # The newest version, so a second edit never drops the first one unseen; ?desde=N
    # starts from another (an older one to go back to, a draft to fix).
    newest: GraderVersion | None = exercise.versions.order_by("-number").first()
    base: GraderVersion | None = newest
    if request.GET.get("desde"):
        try:
            base = selectors.version_of(slug, int(request.GET["desde"]))
        except ValueError:
            base = None
    if base is None:
        raise Http404
    data = request.POST if request.method == "POST" else None
    statement = StatementForm(
        data,
        slug=exercise.slug,
        initial={
            "base": base.number,
            "statement_es": base.statement_es,
            "statement_en": base.statement_en,
            "manifest": manifest_toml(base.manifest),
        },
    )
    starter = FileFormSet(data, prefix="starter", initial=_initial_files(base.starter_files))
    suite = FileFormSet(data, prefix="suite", initial=_initial_files(base.suite_files))
    solution = FileFormSet(data, prefix="solution", initial=_initial_files(base.solution_files))
    alternatives = VariantFormSet(
        data, prefix="alternatives", initial=_initial_variants(base.alternative_files)
    )
    wrong = VariantFormSet(data, prefix="wrong", initial=_initial_variants(base.wrong_files))
    formsets = (starter, suite, solution, alternatives, wrong)
    problem = ""
    preview: dict[str, Any] = {}
    if data is not None:
        if "preview" in data:
            if statement.is_valid():
                preview = {
                    "es": render_markdown(statement.cleaned_data["statement_es"]),
                    "en": render_markdown(statement.cleaned_data["statement_en"]),
                }
        elif statement.is_valid() and statement.cleaned_data["base"] != base.number:
            problem = _(
                "Mientras editabas se creó la versión %(n)s. Copia tus cambios, vuelve "
                "a abrir el editor y aplícalos sobre ella."
            ) % {"n": base.number}
        elif statement.is_valid() and all(f.is_valid() for f in formsets):
            try:
                content = version_content_edited(
                    base,
                    statement_es=statement.cleaned_data["statement_es"],
                    statement_en=statement.cleaned_data["statement_en"],
                    starter=starter.file_map(),
                    suite=suite.file_map(),
                    manifest=statement.cleaned_data["manifest"],
                    solution=solution.file_map(),
                    alternatives=alternatives.variants(),
                    wrong=wrong.variants(),
                )
                with transaction.atomic():
                    version = grader_version_upload(
                        content=content, user=request.user, source="edit"
                    )
                    grader_version_enqueue_validation(version)
            except (ContentError, VersionError) as exc:
                problem = str(exc)
            else:
                messages.success(
                    request,
                    _("Versión %(n)s de %(slug)s guardada: se está validando.")
                    % {"n": version.number, "slug": exercise.slug},
                )
                return redirect("teaching-exercise", slug=exercise.slug)
    invalid = (
        data is not None
        and not preview
        and (bool(problem) or bool(statement.errors) or not all(f.is_valid() for f in formsets))
    )
    return render(
        request,
        "teaching/edit.html",
        {
            "exercise": exercise,
            "base": base,
            "from_current": base.pk == exercise.current_version_id,
            "newest": newest,
            "statement": statement,
            "starter": starter,
            "suite": suite,
            "solution": solution,
            "alternatives": alternatives,
            "wrong": wrong,
            "problem": problem,
            "preview": preview,
        },
        status=400 if invalid else 200,
    )
