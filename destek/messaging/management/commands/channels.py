"""`destek channels add-telegram --name NAME --token TOKEN [--api-url URL]`: add a Telegram
bot as a channel, point its webhook here (when the Bot API answers) and print one JSON object
with the channel's `id`, `webhook_url` and `secret`.

`destek channels add-whatsapp|add-messenger|add-instagram --name NAME --token TOKEN
--account-id ID --app-secret SECRET [--api-url URL] [--token-expires DATE] [--templates a,b]`:
add one of Meta's platforms and print the same JSON; `secret` is the verify token to paste
with `webhook_url` in Meta's app dashboard. `destek channels list`: the channels and their
health."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from destek.lib.errors import ActionRefused
from destek.messaging import telegram
from destek.messaging.actions import (
    add_meta_channel,
    add_telegram_channel,
    set_channel_token,
    webhook_url,
)
from destek.messaging.choices import ChannelKind
from destek.messaging.models import MessagingChannel

META = {
    "add-whatsapp": (ChannelKind.WHATSAPP, "the WhatsApp phone number ID"),
    "add-messenger": (ChannelKind.MESSENGER, "the Facebook page ID"),
    "add-instagram": (ChannelKind.INSTAGRAM, "the Instagram account ID"),
}


class Command(BaseCommand):
    help = "Messenger channels: add a Telegram bot or a Meta platform, list the channels."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        add = commands.add_parser("add-telegram", help="add a Telegram bot as a channel")
        add.add_argument("--name", required=True, help="the channel's name in the desk")
        add.add_argument("--token", required=True, help="the bot token from @BotFather")
        add.add_argument(
            "--api-url", default="", help="a self-hosted Bot API server (default: Telegram's)"
        )
        for action, (kind, account) in META.items():
            meta = commands.add_parser(action, help=f"add {kind} as a channel")
            meta.add_argument("--name", required=True, help="the channel's name in the desk")
            meta.add_argument("--token", required=True, help="the access token")
            meta.add_argument("--account-id", required=True, help=account)
            meta.add_argument("--app-secret", required=True, help="the Meta app's secret")
            meta.add_argument(
                "--api-url", default="", help="the Graph API address (default: the setting)"
            )
            meta.add_argument(
                "--token-expires", default="", help="when the token ends (YYYY-MM-DD), if it does"
            )
            if kind == ChannelKind.WHATSAPP:
                meta.add_argument(
                    "--templates", default="", help="approved template names, comma-separated"
                )
        renew = commands.add_parser("set-token", help="give a channel a new access token")
        renew.add_argument("--id", type=int, required=True, help="the channel's id")
        renew.add_argument("--token", required=True, help="the new token")
        renew.add_argument("--token-expires", default="", help="when it ends (YYYY-MM-DD)")
        hook = commands.add_parser(
            "set-webhook", help="set a Telegram bot's webhook again (what it is sent)"
        )
        hook.add_argument("--id", type=int, required=True, help="the channel's id")
        commands.add_parser("list", help="the channels and their health, as JSON lines")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for channel in MessagingChannel.objects.order_by("pk"):
                self.stdout.write(json.dumps(_described(channel)))
            return
        if action == "set-webhook":
            bot = MessagingChannel.objects.filter(pk=options["id"], kind=ChannelKind.TELEGRAM)
            found = bot.first()
            if found is None:
                raise CommandError("no such Telegram channel")
            try:
                telegram.set_webhook(found, webhook_url(found))
            except telegram.TelegramError as exc:
                raise CommandError(exc.description) from None
            self.stdout.write(json.dumps(_described(found)))
            return
        if action == "set-token":
            found = MessagingChannel.objects.filter(pk=options["id"]).first()
            if found is None:
                raise CommandError("no such channel")
            try:
                set_channel_token(
                    found, options["token"], token_expires_at=_date(options["token_expires"])
                )
            except ActionRefused as exc:
                raise CommandError(str(exc.detail)) from None
            found.refresh_from_db()
            self.stdout.write(json.dumps(_described(found)))
            return
        try:
            if action == "add-telegram":
                added = add_telegram_channel(
                    name=options["name"], token=options["token"], api_url=options["api_url"]
                )
            else:
                added = add_meta_channel(
                    kind=META[action][0],
                    name=options["name"],
                    token=options["token"],
                    account_id=options["account_id"],
                    app_secret=options["app_secret"],
                    api_url=options["api_url"],
                    token_expires_at=_date(options["token_expires"]),
                    templates=(options.get("templates") or "").split(","),
                )
        except ActionRefused as exc:
            raise CommandError(str(exc.detail)) from None
        described = _described(added.channel)
        described["secret"] = added.channel.webhook_secret
        if added.channel.kind != ChannelKind.TELEGRAM:
            described["verify_token"] = added.channel.webhook_secret
        self.stdout.write(json.dumps(described))


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        day = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError("--token-expires: a date such as 2027-01-31") from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def _described(channel: MessagingChannel) -> dict[str, Any]:
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "webhook_url": webhook_url(channel),
        "health": channel.health,
        "last_error": channel.last_error,
    }
