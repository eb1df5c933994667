"""An action's refusal lands on the form next to the field it is about, in the user's language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal


class CodeForm(forms.Form):
    email = forms.CharField(required=False)
    code = forms.CharField(required=False)


def refused(**extra: Any) -> ActionRefused:
    return ActionRefused("invalid_code", _("Enter a valid e-mail address."), **extra)


def bound() -> CodeForm:
    form = CodeForm({"email": "a@example.com", "code": "123"})
    assert form.is_valid()
    return form


def test_a_refusal_goes_next_to_the_field_the_view_names() -> None:
    form = bound()
    add_refusal(form, refused(field="email"), "code")
    assert form.errors == {"code": ["Enter a valid e-mail address."]}


def test_a_refusal_goes_next_to_the_field_the_action_names_when_the_view_names_none() -> None:
    form = bound()
    add_refusal(form, refused(field="email"))
    assert form.errors == {"email": ["Enter a valid e-mail address."]}


def test_a_refusal_about_no_field_of_the_form_goes_above_it() -> None:
    for form, field in ((bound(), None), (bound(), "phone")):
        add_refusal(form, refused(field="phone"), field)
        assert form.non_field_errors() == ["Enter a valid e-mail address."]


def test_the_refusal_is_written_in_the_language_of_the_request() -> None:
    form = bound()
    with translation.override("ru"):
        add_refusal(form, refused(), "code")
    assert form.errors == {"code": ["Введите корректный адрес e-mail."]}
