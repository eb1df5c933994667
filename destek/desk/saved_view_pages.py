"""The side panel's forms: save the queue as a view, rename or share it, move it, delete it.
Each parses, checks access through `access_view`, calls one action and goes back to the queue;
what was refused is said there and nothing else is lost."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.desk.forms import SavedViewForm
from destek.desk.models import SavedView
from destek.desk.queue_filters import ignored_names, read_query
from destek.desk.saved_views import (
    access_view,
    change_view,
    delete_view,
    move_view,
    save_view,
    shareable_departments,
    view_url,
)
from destek.desk.views import agent_only
from destek.lib.errors import ActionRefused
from destek.tickets.models import Department


def _form(request: AuthenticatedHttpRequest) -> SavedViewForm:
    departments = [(d.pk, d.display_name()) for d in shareable_departments(request.user)]
    return SavedViewForm(request.POST, departments=departments)


def _refused(request: AuthenticatedHttpRequest, form: SavedViewForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))


def _back(request: AuthenticatedHttpRequest) -> HttpResponse:
    back = QueryDict(request.POST.get("params", "")).urlencode()
    return redirect(reverse("desk:queue") + (f"?{back}" if back else ""))


@agent_only
@require_POST
def save(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        _refused(request, form)
        return _back(request)
    query = read_query(QueryDict(form.cleaned_data["params"]))
    department_id = form.cleaned_data["department"]
    department = Department.objects.get(pk=department_id) if department_id else None
    try:
        view = save_view(
            request.user, name=form.cleaned_data["name"], query=query, department=department
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return _back(request)
    if query.ignored:
        messages.warning(
            request,
            _("Left out what could not be read: {names}.").format(
                names=ignored_names(query.ignored)
            ),
        )
    messages.success(request, _("View “{name}” saved.").format(name=view.name))
    return redirect(view_url(view))


def _changeable(request: AuthenticatedHttpRequest, view_id: int) -> SavedView | None:
    try:
        return access_view(request.user, view_id, change=True)
    except SavedView.DoesNotExist:
        messages.error(request, _("That view is not there, or not yours to change."))
        return None


@agent_only
@require_POST
def change(request: AuthenticatedHttpRequest, view_id: int) -> HttpResponse:
    view = _changeable(request, view_id)
    if view is None:
        return _back(request)
    form = _form(request)
    if not form.is_valid():
        _refused(request, form)
        return _back(request)
    department_id = form.cleaned_data["department"]
    department = Department.objects.get(pk=department_id) if department_id else None
    try:
        change_view(request.user, view, name=form.cleaned_data["name"], department=department)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return _back(request)
    messages.success(request, _("View “{name}” saved.").format(name=view.name))
    return redirect(view_url(view))


@agent_only
@require_POST
def move(request: AuthenticatedHttpRequest, view_id: int) -> HttpResponse:
    view = _changeable(request, view_id)
    if view is not None:
        move_view(request.user, view, up=request.POST.get("direction") != "down")
    return _back(request)


@agent_only
@require_POST
def delete(request: AuthenticatedHttpRequest, view_id: int) -> HttpResponse:
    view = _changeable(request, view_id)
    if view is not None:
        name = view.name
        delete_view(request.user, view)
        messages.success(request, _("View “{name}” deleted.").format(name=name))
    return redirect("desk:queue")
