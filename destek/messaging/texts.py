"""What the bot says by itself, and the placeholder lines for what it cannot show. Each is
rendered in the contact's language by the caller (`translation.override`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

GREETING = _(
    "Hello, {name}! Write your question here and our support team will answer you in this chat."
)
HELP = _(
    "Write a message and our support team answers here. You can also send photos and "
    "documents.\n/new: start a new ticket\n/status: your open tickets\n/help: this help"
)
NEW_TICKET_NEXT = _("Write your new question: it will be filed as a new ticket.")
TICKET_FILED = _("Thank you! Your ticket {number} is filed. We will answer you here.")
NO_OPEN_TICKETS = _("You have no open tickets.")
OPEN_TICKETS = _("Your open tickets:")
SUBJECT_FROM = _("Telegram message from {name}")
A_CUSTOMER = pgettext_lazy("a Telegram user without a name", "a customer")
FILE_TOO_LARGE = _("A file was sent that is larger than the limit of {mb} MB; it was not kept.")
FILE_NOT_FETCHED = _("A file was sent that could not be downloaded.")
#: The first line of a customer's message that answers or changes an earlier one.
REPLY_TO = _("In reply to: “{quote}”")
REPLY_TO_UNKNOWN = _("In reply to an earlier message.")
EDITED_FROM = _("Edited: the message said before: “{quote}”")
EDITED = _("Edited: a change of an earlier message.")
#: Sent to the chat instead of an agent's file the messenger does not take.
FILE_TOO_LARGE_TO_SEND = _("The file {name} is too large to be sent in this chat.")
FILE_NOT_SENT = _("The file {name} could not be sent in this chat.")

#: Placeholder lines for what a ticket cannot show, by the update's field.
PLACEHOLDERS = {
    "photo": _("A photo was sent."),
    "document": _("A document was sent."),
    "sticker": _("A sticker was sent."),
    "location": _("A location was sent."),
    "venue": _("A place was sent."),
    "voice": _("A voice message was sent."),
    "audio": _("An audio file was sent."),
    "video": _("A video was sent."),
    "video_note": _("A video message was sent."),
    "animation": _("An animation was sent."),
    "contact": _("A contact card was sent."),
    "poll": _("A poll was sent."),
    "dice": _("A dice was thrown."),
    "game": _("A game was sent."),
}
SOMETHING = _("A message was sent that cannot be shown here.")
