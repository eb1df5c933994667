"""Where the demo's mail goes: `make run` has no mail server, so every outgoing message is
kept in the database (an admin reads it at /desk/demo-mail/) and one line per message is
printed in the terminal of the process that sends it (the worker).

Chosen by settings when DESTEK_DEMO=1 and DESTEK_SMTP_HOST is not set; production, and a
demo with DESTEK_SMTP_HOST, send through SMTP.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from email.utils import getaddresses

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from destek.notify.models import DemoMail

log = logging.getLogger(__name__)

LINK = re.compile(r"https?://[^\s<>\"')\]]+")
BACKEND = "destek.notify.demo_mail.DemoMailBackend"


def first_link(text: str) -> str:
    found = LINK.search(text)
    return found.group(0).rstrip(".,;:") if found else ""


def _html_part(message: EmailMessage) -> str:
    if isinstance(message, EmailMultiAlternatives):
        for content, mimetype in message.alternatives:
            if mimetype == "text/html":
                return str(content)
    return ""


def keep(message: EmailMessage) -> DemoMail:
    """Store one message and print its line: `mail to X: <subject> <first link>`."""
    recipients = [address for _name, address in getaddresses(message.recipients())]
    mail = DemoMail.objects.create(
        to=", ".join(recipients)[:1000],
        subject=str(message.subject)[:1000],
        text=str(message.body),
        html=_html_part(message),
        raw=message.message().as_string(),
    )
    link = first_link(mail.text)
    log.info("mail to %s: %s %s", mail.to, mail.subject, link)
    return mail


class DemoMailBackend(BaseEmailBackend):
    """Django mail backend that keeps every message as a `DemoMail` row."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                keep(message)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
