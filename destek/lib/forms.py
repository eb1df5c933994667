"""Form fields and form helpers shared by the portal and the desk."""

from __future__ import annotations

from typing import Any

from django import forms

from destek.lib.errors import ActionRefused


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files in one input; sizes are checked by the upload action, not here."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(FilesField, self).clean(item, initial) for item in files]


def add_refusal(form: forms.BaseForm, refusal: ActionRefused, field: str | None = None) -> None:
    """Show an action's refusal on the form that asked for it, in the user's language (the
    refusal's lazy text is rendered now, in the request's language).

    It goes next to `field` when given, else next to the field the action named
    (`ActionRefused(..., field="...")`); above the form when that is none of the form's
    fields, or when no field is named. The form keeps everything that was typed.
    """
    name = field or refusal.extra.get("field")
    form.add_error(name if name in form.fields else None, str(refusal.detail))
