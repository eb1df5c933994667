"""Every text the chat widget's script shows, translated on the server and handed to the page
as JSON: the script itself holds no words. `{name}`-style places are filled in by the script
(numbers in the page's own digits)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def widget_strings() -> dict[str, str]:
    return {
        "checking": _("Checking who is available…"),
        "online": _("An agent is available."),
        "wait_minutes": _("Usual wait: about {minutes} min."),
        "wait_short": _("Usual wait: less than a minute."),
        "offline": _("Nobody is available to chat right now."),
        "offline_help": _(
            "Leave your question below: it becomes a ticket and we answer by e-mail."
        ),
        "start_chat": _("Start the chat"),
        "send_question": _("Send my question"),
        "name_required": _("Please give your name."),
        "email_invalid": _("Please give a valid e-mail address."),
        "question_required": _("Please write your question."),
        "suggestions": _("These articles may already answer your question:"),
        "still_chat": _("No, start the chat"),
        "still_ticket": _("No, send my question"),
        "answered": _("Yes, that answers it"),
        "glad": _("Glad it helped. You can ask something else below any time."),
        "waiting": _("Waiting for an agent…"),
        "queue_position": _("You are number {position} in the queue."),
        "queue_next": _("You are next in the queue."),
        "queue_wait": _("Estimated wait: about {minutes} min."),
        "queue_wait_short": _("Estimated wait: less than a minute."),
        "assigned": _("{agent} has joined the chat."),
        "with_agent": _("You are chatting with {agent}"),
        "typing": _("{name} is typing…"),
        "agent": pgettext("chat author", "Agent"),
        "you": pgettext("chat author", "You"),
        "system": pgettext("chat author", "Destek"),
        "seen": pgettext("chat message", "Seen"),
        "sending": _("Sending…"),
        "send_failed": _("Your message was not sent; it is still in the box. Please try again."),
        "offline_network": _(
            "No connection. What you typed is kept: please try again in a moment."
        ),
        "file_failed": _("{name} could not be sent; your message is kept. Please try again."),
        "too_big": _("{name} is larger than {mb} MB and was not added."),
        "remove_file": _("Remove {name}"),
        "screenshot": _("screenshot"),
        "pasted": _("The pasted screenshot was added."),
        "reconnecting": _("The connection was lost. Reconnecting…"),
        "connected": _("Connected."),
        "ended": _("The chat has ended."),
        "ended_ticket": _("It continues as ticket #{number}: we will answer you by e-mail."),
        "transcript_sent": _("The transcript is on its way to your e-mail."),
        "transcript_failed": _("The transcript could not be sent. Please try again."),
        "rating_thanks": _("Thank you for your rating."),
        "rating_required": _("Please choose a rating from 1 to 5."),
        "rating_failed": _("Your rating was not saved. Please try again."),
        "survey_score": _("{question}: choose a whole number from 1 to 5."),
        "survey_solved": _("Say whether your problem was fully solved: yes or no."),
        "survey_thanks": _("Thank you for your answer."),
        "survey_reopened": _(
            "We are sorry it is not solved yet: ticket #{number} is open again and we will "
            "get back to you."
        ),
        "survey_failed": _("Your answer was not saved. Please try again."),
        "filed": _("Thank you. Your question is ticket #{number}."),
        "filed_email": _("We will answer by e-mail to {email}."),
        "new_messages": _("New messages"),
        "attachment": _("Attachment"),
        "not_found": _("This chat is no longer available. You can start a new one."),
    }
