"""The survey page the mailed links open. No sign-in: the signed link is the key. A GET or
HEAD (a mail scanner following every link) only shows the form, with the clicked answer
chosen; only the form's POST records."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from destek.lib.errors import ActionRefused
from destek.surveys import actions, tokens
from destek.surveys.models import SurveySent

SCORES = (1, 2, 3, 4, 5)


def _whole(value: str | None) -> int | str | None:
    """A form's number as an int; anything else is passed on for the action to refuse."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _solved(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _refused(request: HttpRequest, *, expired: bool = False, status: int = 400) -> HttpResponse:
    return render(
        request, "surveys/refused.html", {"expired": expired}, status=410 if expired else status
    )


@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = tokens.read(token)
    except tokens.Expired:
        return _refused(request, expired=True)
    except tokens.Forged:
        return _refused(request)
    sent = (
        SurveySent.objects.select_related("ticket__customer", "ticket__department")
        .filter(ticket_id=link.ticket_id, token_version=link.version)
        .first()
    )
    # A well-signed link whose survey is gone, was revoked (a newer `token_version`), or whose
    # ticket now belongs to someone else: nothing to show, as for any ticket not one's own.
    if sent is None or sent.customer_id != sent.ticket.customer_id:
        return _refused(request, status=404)
    ticket = sent.ticket
    # The customer's language, unless they chose one on the page.
    chosen = request.COOKIES.get("django_language")
    language = chosen or ticket.language or ticket.customer.language
    with translation.override(language):
        existing = actions.survey_of(ticket)
        values: dict[str, Any] = {}
        if existing is not None:
            values = {
                "speed": existing.speed,
                "clarity": existing.clarity,
                "tone": existing.tone,
                "solved": "yes" if existing.solved else "no",
                "comment": existing.comment,
            }
        error = ""
        status = 200
        saved = False
        if request.method == "POST":
            posted = request.POST
            values = {
                "speed": _whole(posted.get("speed")),
                "clarity": _whole(posted.get("clarity")),
                "tone": _whole(posted.get("tone")),
                "solved": posted.get("solved", ""),
                "comment": posted.get("comment", ""),
            }
            try:
                actions.record_answer(
                    ticket,
                    ticket.customer,
                    speed=values["speed"],
                    clarity=values["clarity"],
                    tone=values["tone"],
                    solved=_solved(values["solved"]),
                    comment=values["comment"],
                )
            except ActionRefused as refused:
                # 422 for the answer, 429 for too many of them, in the reader's language.
                error, status = str(refused.detail), refused.status
            else:
                saved = True
        else:
            clicked = _whole(request.GET.get("speed"))
            if clicked in SCORES:
                values["speed"] = clicked
        return render(
            request,
            "surveys/answer.html",
            {
                "ticket": ticket,
                "values": values,
                "scores": SCORES,
                "error": error,
                "saved": saved,
                "answered": existing is not None or saved,
                "questions": [
                    ("speed", _("How fast was our first answer?"), values.get("speed")),
                    ("clarity", _("How clear were our answers?"), values.get("clarity")),
                    ("tone", _("How polite were we?"), values.get("tone")),
                ],
            },
            status=status,
        )
