"""An agent's own macros: the list, a form to add one, and removing one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.automation import actions
from destek.automation.models import Macro
from destek.desk.macro_forms import PersonalMacroForm
from destek.desk.views import agent_only
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal
from destek.tickets.access import agent_department_ids
from destek.tickets.models import Department


@agent_only
def mine(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    departments = Department.objects.order_by("position", "name")
    if not user.is_admin:
        departments = departments.filter(pk__in=agent_department_ids(user))
    form = PersonalMacroForm(
        request.POST or None,
        departments=departments,
        initial={"language": user.language},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            macro = actions.create_personal_macro(
                user,
                name=data["name"],
                body=data["body"],
                language=data["language"],
                department=data["department"],
                status=data["status"],
                priority=data["priority"],
                add_tags=data["add_tags"],
                note=data["note"],
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, _("Macro “{name}” saved.").format(name=macro.name))
            return redirect("desk:macros")
    own = Macro.objects.filter(owner=user).select_related("department").prefetch_related("texts")
    status = 422 if request.method == "POST" else 200
    return render(request, "desk/macros.html", {"form": form, "macros": own}, status=status)


@agent_only
@require_POST
def delete(request: AuthenticatedHttpRequest, macro_id: int) -> HttpResponse:
    try:
        actions.delete_personal_macro(request.user, macro_id)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
    else:
        messages.success(request, _("Macro removed."))
    return redirect("desk:macros")
