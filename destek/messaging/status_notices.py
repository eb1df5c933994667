"""Status notices (announcements.notices) to a customer's linked Telegram chat: registered as
a carrier in apps.py, so announcements (a floor below) never imports messaging."""

from __future__ import annotations

from destek.accounts.models import User
from destek.messaging import actions as messenger
from destek.messaging.choices import ChannelKind, Health
from destek.messaging.models import Contact


def reach(user: User) -> str | None:
    """The customer's Telegram chat they linked (the newest, on a bot that works), as the
    contact's id; None without one."""
    contact = (
        Contact.objects.filter(
            customer=user, linked_at__isnull=False, channel__kind=ChannelKind.TELEGRAM
        )
        .exclude(channel__health=Health.FAILING)
        .order_by("-linked_at", "-pk")
        .first()
    )
    return str(contact.pk) if contact else None


def send(address: str, text: str) -> None:
    """The notice to the chat, sent by the worker once the caller's transaction commits."""
    contact = Contact.objects.filter(pk=int(address)).first() if address.isdigit() else None
    if contact is not None:
        messenger.queue_text(contact, text)
