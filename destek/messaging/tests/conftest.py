"""The Telegram stand-in and a channel on it, for every messaging test module."""

from destek.messaging.tests.test_telegram import bot_api, channel  # noqa: F401  (fixtures)
