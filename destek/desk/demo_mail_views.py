"""The demo mailbox: what the demo would have mailed, for admins to read (sign-up links,
one-time codes, ticket notices). Rows exist only when the demo mail backend is in use.

The demo has no mail server to answer through either: an admin may answer a kept mail as its
recipient, and the answer goes through the real inbound pipeline (`process_message`), as a
reply from that mailbox would (a customer's, or an address copied on a ticket)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.mail.actions import Unacceptable, process_message
from destek.notify.demo_mail import BACKEND, first_link, reply_to
from destek.notify.models import DemoMail

PAGE = 100


def admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    signed_in = login_required(view)

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.DESTEK_DEMO:
            # Outside the demo there is no demo mailbox, whatever rows an earlier demo left
            # (they hold sign-up links and one-time codes).
            raise Http404
        if not request.user.is_authenticated:
            return signed_in(request, *args, **kwargs)
        if not request.user.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return wrapped


@admin_only
def mailbox(request: HttpRequest) -> HttpResponse:
    mails = list(DemoMail.objects.order_by("-sent_at", "-id")[:PAGE])
    for mail in mails:
        mail.link = first_link(mail.text)  # type: ignore[attr-defined]
    return render(
        request,
        "desk/demo_mail.html",
        {"mails": mails, "catching": settings.EMAIL_BACKEND == BACKEND},
    )


@admin_only
def mail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "desk/demo_mail_one.html", {"mail": get_object_or_404(DemoMail, pk=pk)})


@admin_only
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a kept mail as its recipient, through the inbound pipeline."""
    kept = get_object_or_404(DemoMail, pk=pk)
    text = request.POST.get("body", "").strip()
    if not text or "," in kept.to:
        messages.error(request, _("Write the answer first."))
        return redirect("desk:demo_mail_one", pk=pk)
    try:
        outcome = process_message(reply_to(kept, text), "demo")
    except Unacceptable as refusal:
        messages.error(request, str(refusal))
        return redirect("desk:demo_mail_one", pk=pk)
    if outcome.ticket_number is None:
        messages.error(request, _("The answer was not filed in a ticket."))
    else:
        messages.success(
            request,
            _("The answer of {address} was filed in ticket #{number}.").format(
                address=kept.to, number=outcome.ticket_number
            ),
        )
    return redirect("desk:demo_mail_one", pk=pk)
