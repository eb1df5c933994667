"""`destek channels add-telegram --name NAME --token TOKEN [--api-url URL]`: add a Telegram
bot as a channel, point its webhook here (when the Bot API answers) and print one JSON object
with the channel's `id`, `webhook_url` and `secret`. `destek channels list`: the channels and
their health."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from destek.lib.errors import ActionRefused
from destek.messaging.actions import add_telegram_channel, webhook_url
from destek.messaging.models import MessagingChannel


class Command(BaseCommand):
    help = "Messenger channels: add a Telegram bot, list the channels."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        add = commands.add_parser("add-telegram", help="add a Telegram bot as a channel")
        add.add_argument("--name", required=True, help="the channel's name in the desk")
        add.add_argument("--token", required=True, help="the bot token from @BotFather")
        add.add_argument(
            "--api-url", default="", help="a self-hosted Bot API server (default: Telegram's)"
        )
        commands.add_parser("list", help="the channels and their health, as JSON lines")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for channel in MessagingChannel.objects.order_by("pk"):
                self.stdout.write(json.dumps(_described(channel)))
            return
        try:
            added = add_telegram_channel(
                name=options["name"], token=options["token"], api_url=options["api_url"]
            )
        except ActionRefused as exc:
            raise CommandError(str(exc.detail)) from None
        described = _described(added.channel)
        described["secret"] = added.channel.webhook_secret
        self.stdout.write(json.dumps(described))


def _described(channel: MessagingChannel) -> dict[str, Any]:
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "webhook_url": webhook_url(channel),
        "health": channel.health,
        "last_error": channel.last_error,
    }
