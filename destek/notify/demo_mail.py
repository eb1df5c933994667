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
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, getaddresses, make_msgid

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from destek.notify.models import DemoMail

log = logging.getLogger(__name__)

LINK = re.compile(r"https?://[^\s<>\"')\]]+")
BACKEND = "destek.notify.demo_mail.DemoMailBackend"


def first_link(text: str) -> str:
    found = LINK.search(text)
    return found.group(0).rstrip(".,;:") if found else ""


def reply_to(kept: DemoMail, text: str) -> bytes:
    """The answer its recipient would send to a kept mail, as raw bytes: from that address, to
    the mail's Reply-To, answering its Message-ID, with `text` and the mail quoted below."""
    original = message_from_string(kept.raw, policy=policy.default)
    answer = MimeMessage(policy=policy.SMTP)
    answer["From"] = kept.to
    answer["To"] = str(original.get("Reply-To") or original.get("From") or "")
    subject = kept.subject
    answer["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    answer["Date"] = formatdate(localtime=True)
    answer["Message-ID"] = make_msgid(domain=kept.to.rpartition("@")[2] or "demo.invalid")
    answered = str(original.get("Message-ID") or "")
    if answered:
        answer["In-Reply-To"] = answered
        answer["References"] = f"{original.get('References') or ''} {answered}".strip()
    quoted = "\n".join(f"> {line}" for line in kept.text.splitlines())
    answer.set_content(f"{text}\n\n{quoted}\n")
    return answer.as_bytes()


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
