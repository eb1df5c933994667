"""Confirming a held mail: the link we mailed to the address a message claimed to come from.

GET shows what we received and a button; only the POST confirms, so a mail scanner or a link
preview that opens the link confirms nothing. No sign-in is needed: the signed link, sent to
that address, is the proof (many mail customers have no password).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from destek.lib.errors import ActionRefused
from destek.mail import actions as mail_actions
from destek.tickets.choices import Verification


@never_cache
def confirm_mail(request: HttpRequest, token: str) -> HttpResponse:
    message = mail_actions.held_message(token)
    if message is None:
        return render(request, "portal/confirm_mail.html", {"invalid": True}, status=404)
    if request.method == "POST":
        try:
            filed = mail_actions.confirm_held_mail(token)
        except ActionRefused as refusal:
            return render(
                request,
                "portal/confirm_mail.html",
                {"invalid": True, "error": str(refusal.detail)},
                status=refusal.status,
            )
        return render(request, "portal/confirm_mail.html", {"message": message, "confirmed": filed})
    already = message.verification == Verification.CONFIRMED
    return render(
        request,
        "portal/confirm_mail.html",
        {"message": message, "confirmed": message if already else None},
    )
