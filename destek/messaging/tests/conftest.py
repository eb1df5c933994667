"""The Telegram and Graph API stand-ins and channels on them, for every messaging test module."""

from destek.messaging.tests.test_meta import graph, messenger, whatsapp  # noqa: F401  (fixtures)
from destek.messaging.tests.test_telegram import bot_api, channel  # noqa: F401  (fixtures)
