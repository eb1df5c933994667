"""The demo mailbox: what the demo would have mailed, for admins to read (sign-up links,
one-time codes, ticket notices). Rows exist only when the demo mail backend is in use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from destek.notify.demo_mail import BACKEND, first_link
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
