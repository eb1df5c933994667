"""The satisfaction survey of a resolved messenger ticket, asked in the customer's chat instead
of by mail (surveys.actions.send_survey asks this carrier first): speed, clarity and politeness
1-5, whether the problem was fully solved, then anything to add. Buttons where the platform has
them (Telegram's inline keyboard, WhatsApp's reply buttons and list, Messenger's and Instagram's
quick replies); a typed digit or yes/no word in any of the five languages counts the same.

The answer is recorded (surveys.actions.record_answer) as soon as `solved` is given, and again
with the comment when one comes. While a survey is under way, anything that is not an answer
ends it politely and is filed as a message, as always: a customer's words are never swallowed.
A button press carries the survey's random key and the step it asks: a press of another
contact's, an ended or expired survey, or an earlier question is refused politely."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation

from destek.lib.dates import format_number
from destek.lib.errors import ActionRefused
from destek.messaging import actions as messenger
from destek.messaging import texts, window
from destek.messaging.choices import ChannelKind, Health
from destek.messaging.models import ChatSurvey, Contact, SurveyStep
from destek.messaging.platform import Inbound
from destek.messaging.selectors import contact_of
from destek.surveys import actions as surveys
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.surveys.tokens import MAX_AGE
from destek.tickets import actions as tickets
from destek.tickets.models import Ticket

#: A survey can be answered as long as the mailed survey's links work (14 days).
LIFETIME = timedelta(seconds=MAX_AGE)
PREFIX = "sv"
SCORE_STEPS = (SurveyStep.SPEED, SurveyStep.CLARITY, SurveyStep.TONE)
NEXT = {
    SurveyStep.SPEED: SurveyStep.CLARITY,
    SurveyStep.CLARITY: SurveyStep.TONE,
    SurveyStep.TONE: SurveyStep.SOLVED,
    SurveyStep.SOLVED: SurveyStep.COMMENT,
}
QUESTIONS = {
    SurveyStep.SPEED: texts.SURVEY_SPEED,
    SurveyStep.CLARITY: texts.SURVEY_CLARITY,
    SurveyStep.TONE: texts.SURVEY_TONE,
}

#: Typed answers, compared case-folded without end punctuation, in az, en, fa, ru and tr.
YES_WORDS = frozenset(
    {"yes", "y", "yeah", "yep", "ok", "okay", "bəli", "beli", "hə", "he", "həə", "elədir",
     "evet", "evt", "tabii", "да", "ага", "угу", "конечно", "بله", "بلی", "آره", "اره"}
)  # fmt: skip
NO_WORDS = frozenset(
    {"no", "n", "nope", "xeyr", "yox", "yok", "hayır", "hayir", "нет", "неа", "не", "نه",
     "خیر", "نخیر"}
)  # fmt: skip
SKIP_WORDS = NO_WORDS | frozenset(
    {"skip", "keç", "kec", "geç", "gec", "atla", "пропустить", "пропуск", "-", "—", "رد", "بگذر"}
)  # fmt: skip
#: A text is taken as the comment only this soon after it was asked for; later it is a
#: message of its own (a new question days after the survey is never swallowed).
COMMENT_WINDOW = timedelta(hours=1)


# --- the carrier (surveys.actions.send_survey) --------------------------------------------


def takes(ticket: Ticket) -> bool:
    """A messenger's ticket whose chat can be written to now: a contact of its customer on
    that messenger, a channel that works and, on Meta's platforms, the 24-hour window open.
    Otherwise the survey goes by mail, when the customer has a verified address."""
    if ticket.channel not in ChannelKind.values:
        return False
    contact = contact_of(ticket)
    if contact is None or contact.channel.health == Health.FAILING:
        return False
    return window.is_open(contact)


def send(ticket: Ticket, sent: SurveySent) -> None:
    """The first question to the chat, in the caller's transaction (sent after commit); an
    earlier survey of the contact still under way ends (one at a time)."""
    contact = contact_of(ticket)
    if contact is None:  # pragma: no cover - `takes` said there is one, in the same lock
        return
    now = timezone.now()
    ChatSurvey.objects.filter(contact=contact, ended_at__isnull=True).update(ended_at=now)
    ChatSurvey.objects.filter(ticket=ticket).delete()  # a survey sent again (one per ticket)
    survey = ChatSurvey.objects.create(
        contact=contact,
        ticket=ticket,
        key=secrets.token_urlsafe(9),
        expires_at=sent.sent_at + LIFETIME,
    )
    with translation.override(contact.language):
        intro = str(texts.SURVEY_INTRO).format(number=f"#{ticket.number}")
        messenger.queue_text(contact, intro)
        _ask(survey, contact)


def _payload(survey: ChatSurvey, value: str) -> str:
    """A button's data: the survey's key, the step it answers and the value (<= 64 bytes,
    Telegram's limit for callback data)."""
    return f"{PREFIX}:{survey.key}:{survey.step}:{value}"


@dataclass(frozen=True)
class Pressed:
    key: str
    step: str
    value: str


def _read(payload: str) -> Pressed | None:
    parts = payload.split(":")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    return Pressed(key=parts[1], step=parts[2], value=parts[3])


def _taken_up(survey: ChatSurvey) -> Ticket:
    """The ticket the team takes an unhappy answer up on: the rated one, or the follow-up
    opened when it was closed too long ago to reopen."""
    survey.ticket.refresh_from_db(fields=["status"])
    return surveys.follow_up_of(survey.ticket) or survey.ticket


def _ask(
    survey: ChatSurvey,
    contact: Contact,
    *,
    reopened: bool = False,
    taken_up: Ticket | None = None,
) -> None:
    """The question of the survey's step, with its buttons, in the active language."""
    step = survey.step
    if step in SCORE_STEPS:
        text = f"{QUESTIONS[SurveyStep(step)]} {texts.SURVEY_SCALE}"
        buttons = [(_payload(survey, str(n)), format_number(n)) for n in range(1, 6)]
    elif step == SurveyStep.SOLVED:
        text = str(texts.SURVEY_SOLVED)
        buttons = [
            (_payload(survey, "yes"), str(texts.SURVEY_YES)),
            (_payload(survey, "no"), str(texts.SURVEY_NO)),
        ]
    else:
        said = texts.SURVEY_COMMENT_REOPENED if reopened else texts.SURVEY_COMMENT
        text = str(said).format(number=f"#{(taken_up or survey.ticket).number}")
        buttons = [(_payload(survey, "skip"), str(texts.SURVEY_SKIP))]
    messenger.queue_text(contact, text, buttons=buttons)
    survey.asked_at = timezone.now()
    survey.save(update_fields=["asked_at"])


# --- the customer's answers (actions.inbound_handlers) -----------------------------------


def _open_survey(contact: Contact) -> ChatSurvey | None:
    return (
        ChatSurvey.objects.select_for_update()
        .select_related("ticket")
        .filter(contact=contact, ended_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-pk")
        .first()
    )


def _words(text: str) -> str:
    return " ".join(text.casefold().split()).strip(".!?,;:")


def _typed(step: str, text: str) -> str | None:
    """What a typed text answers at `step` ("1".."5", "yes", "no", "skip" or the comment
    itself), None when it is no answer to it."""
    words = _words(text)
    if step in SCORE_STEPS:
        # Any script's digits: "4", "۴" (Persian), "٤" (Arabic).
        if len(words) == 1 and words.isdecimal() and 1 <= int(words) <= 5:
            return str(int(words))
        return None
    if step == SurveyStep.SOLVED:
        if words in YES_WORDS:
            return "yes"
        if words in NO_WORDS:
            return "no"
        return None
    if words in SKIP_WORDS:
        return "skip"
    return text.strip()


def handle(contact: Contact, inbound: Inbound, text: str) -> bool:
    """True when the message was an answer to the contact's survey (or a survey button
    that is refused); False to file it as a message, ending a survey under way first."""
    survey = _open_survey(contact)
    pressed = _read(inbound.button) if inbound.button else None
    if inbound.button.startswith(f"{PREFIX}:"):
        if (
            survey is None
            or pressed is None
            or not secrets.compare_digest(pressed.key.encode(), survey.key.encode())
            or pressed.step != survey.step
        ):
            messenger.queue_text(contact, str(texts.SURVEY_STALE))
            return True
        return _answer(survey, contact, pressed.value, typed=False)
    if survey is None:
        return False
    plain = not (inbound.media or inbound.placeholders or inbound.button or inbound.is_edit)
    if survey.step == SurveyStep.COMMENT and timezone.now() - survey.asked_at > COMMENT_WINDOW:
        plain = False
    value = _typed(survey.step, text) if plain and text and not text.startswith("/") else None
    if value is None:
        # Not an answer: the survey ends and the message is filed as any other.
        _end(survey)
        if survey.step != SurveyStep.COMMENT:
            messenger.queue_text(contact, str(texts.SURVEY_ENDED))
        return False
    return _answer(survey, contact, value, typed=True)


def _end(survey: ChatSurvey) -> None:
    survey.ended_at = timezone.now()
    survey.save(update_fields=["ended_at"])


def _answer(survey: ChatSurvey, contact: Contact, value: str, *, typed: bool) -> bool:
    step = survey.step
    if step in SCORE_STEPS:
        if value not in {"1", "2", "3", "4", "5"}:
            messenger.queue_text(contact, str(texts.SURVEY_STALE))
            return True
        setattr(survey, step, int(value))
        survey.step = NEXT[SurveyStep(step)]
        survey.save(update_fields=[step, "step"])
        _ask(survey, contact)
        return True
    if step == SurveyStep.SOLVED:
        if value not in {"yes", "no"}:
            messenger.queue_text(contact, str(texts.SURVEY_STALE))
            return True
        survey.solved = value == "yes"
        answer = _record(survey, contact, comment="")
        if answer is None:
            return True
        survey.step = SurveyStep.COMMENT
        survey.save(update_fields=["solved", "step"])
        _ask(survey, contact, reopened=answer.unhappy, taken_up=_taken_up(survey))
        return True
    # The comment step: a comment (typed), or skipped.
    _end(survey)
    if value != "skip":
        answer = _record(survey, contact, comment=value)
        if answer is None:
            return True
        if answer.unhappy:
            # The note of the unhappy answer was written before the comment came: the
            # agents who take the reopened ticket read it too.
            body = f"{texts.SURVEY_COMMENT_NOTE}\n\n{answer.comment}"
            tickets.add_system_note(_taken_up(survey), body=body)
    messenger.queue_text(contact, str(texts.SURVEY_THANKS))
    return True


def _record(survey: ChatSurvey, contact: Contact, *, comment: str) -> SurveyAnswer | None:
    """The answer recorded (replacing an earlier one); None, the survey ended and the
    customer told, when it can no longer be (the ticket merged, moved to another customer)."""
    ticket = survey.ticket
    try:
        with transaction.atomic():
            # As the contact's customer: a ticket since moved to another customer (or a
            # contact since unlinked from the account) is not theirs to rate.
            return surveys.record_answer(
                ticket,
                contact.customer,
                speed=survey.speed,
                clarity=survey.clarity,
                tone=survey.tone,
                solved=survey.solved,
                comment=comment[: surveys.COMMENT_MAX],
            )
    except ActionRefused:
        _end(survey)
        messenger.queue_text(contact, str(texts.SURVEY_UNAVAILABLE))
        return None
