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
    "documents.\n/new: start a new ticket\n/status: your open tickets\n/link: connect this chat "
    "to your account on our portal\n/help: this help"
)
#: Added to the first ticket's answer on WhatsApp, Messenger and Instagram, whose users get no
#: command menu or /start greeting: how to connect the chat to their account (linking.py).
LINK_HINT = _(
    "Do you have an account on our portal? To connect this chat to it, write /link and the "
    "account's e-mail address (for example: /link name@example.com). /help lists what else "
    "you can write."
)
NEW_TICKET_NEXT = _("Write your new question: it will be filed as a new ticket.")
TICKET_FILED = _("Thank you! Your ticket {number} is filed. We will answer you here.")
OUT_OF_HOURS = _(
    "We are outside our working hours now; your message is kept and we answer as soon as we "
    "are back."
)
NO_OPEN_TICKETS = _("You have no open tickets.")
OPEN_TICKETS = _("Your open tickets:")
SUBJECT_FROM = _("Telegram message from {name}")
#: The same for the other messengers, by channel kind.
SUBJECTS_FROM = {
    "whatsapp": _("WhatsApp message from {name}"),
    "messenger": _("Messenger message from {name}"),
    "instagram": _("Instagram message from {name}"),
}
A_CUSTOMER = pgettext_lazy("a Telegram user without a name", "a customer")
FILE_TOO_LARGE = _("A file was sent that is larger than the limit of {mb} MB; it was not kept.")
FILE_NOT_FETCHED = _("A file was sent that could not be downloaded.")
#: The first line of a customer's message that answers or changes an earlier one.
#: Each on a line of its own, the quote on the next: in a Persian line an English quote
#: (or the other way round) would be reordered by the bidirectional algorithm.
REPLY_TO = _("In reply to:")
REPLY_TO_UNKNOWN = _("In reply to an earlier message.")
EDITED_FROM = _("Edited: the message said before:")
QUOTED = _("“{quote}”")
EDITED = _("Edited: a change of an earlier message.")
#: Sent to the chat instead of an agent's file the messenger does not take.
FILE_TOO_LARGE_TO_SEND = _("The file {name} is too large to be sent in this chat.")
FILE_NOT_SENT = _("The file {name} could not be sent in this chat.")

# Linking the chat to a customer account (messaging/linking.py).
LINKED = _(
    "Done: this chat is now connected to your account {account}. Your tickets from here are "
    "in the portal too."
)
ALREADY_LINKED = _("This chat is already connected to your account.")
LINKED_TO_ANOTHER = _(
    "This chat is already connected to another account. To connect it to a different one, "
    "first disconnect it in that account's profile on the portal."
)
LINK_INVALID = _(
    "This link is used, expired or unknown, so nothing was changed. Make a new one in your "
    "profile on the portal."
)
LINK_REMOVED = _(
    "This chat is no longer connected to your account. Your earlier tickets stay in the portal."
)
LINK_ASK_ADDRESS = _(
    "To connect this chat to your account, type the e-mail address of your account. We will "
    "send a code to it."
)
LINK_NOT_AN_ADDRESS = _("This is not an e-mail address. Type it like name@example.com.")
LINK_CODE_SENT = _(
    "If {address} is the address of an account here, we sent a 6-digit code to it. Type the "
    "code here."
)
LINK_CODE_WRONG = _("The code is wrong or has expired. Check the e-mail and type it again.")
LINK_CODE_SPENT = _("The code is wrong or has expired. Type /link to get a new one.")
LINK_NO_CODE = _("Type /link and the address of your account first.")
LINK_TOO_MANY = _("Too many codes asked for. Please wait an hour and try again.")

# The satisfaction survey asked in the chat (messaging/survey.py); the questions are the survey
# page's own (surveys/views.py).
SURVEY_INTRO = _(
    "Your ticket {number} is resolved. How did we do? Four short questions: press a button "
    "or type the answer."
)
SURVEY_SCALE = _("(1 = poor, 5 = excellent)")
SURVEY_SPEED = _("How fast was our first answer?")
SURVEY_CLARITY = _("How clear were our answers?")
SURVEY_TONE = _("How polite were we?")
SURVEY_SOLVED = _("Was your problem fully solved?")
SURVEY_YES = _("Yes")
SURVEY_NO = _("No")
SURVEY_COMMENT = _("Thank you! Anything to add? Send it as a message, or press “Skip”.")
SURVEY_COMMENT_REOPENED = _(
    "Thank you, and we are sorry. Your ticket {number} is open again and our team will get "
    "back to you here. Anything to add? Send it as a message, or press “Skip”."
)
SURVEY_SKIP = _("Skip")
#: The internal note with a comment the customer added to an unhappy answer in the chat.
SURVEY_COMMENT_NOTE = _("The customer added to their rating:")
SURVEY_THANKS = _("Thank you for your answer!")
SURVEY_ENDED = _("The survey is closed; your message goes to our support team.")
SURVEY_STALE = _("This survey is over or is not yours, so the button does nothing now.")
SURVEY_UNAVAILABLE = _("This survey cannot be answered any more. Thank you!")
#: WhatsApp's button that opens a list of choices (at most 20 characters).
CHOOSE = _("Choose")

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
    "reaction": _("A reaction was sent."),
    "share": _("A link or a post was shared."),
    "game": _("A game was sent."),
}
SOMETHING = _("A message was sent that cannot be shown here.")
