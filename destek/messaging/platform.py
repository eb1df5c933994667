"""What every messenger platform gives the rest of messaging, so that receiving and sending
are written once (actions.py) and each platform is one module behind the same small door:

- `events(payload)`: a webhook body cut into the events stored one by one, each with the id
  that is unique per channel (Telegram's update id, WhatsApp's wamid, Messenger's mid);
- `parse(channel, payload)`: one stored event as an `Inbound` message, or None for what is
  not a customer's message (a status, an echo, a group chat);
- `send_text`, `send_file`, `fetch_media`, `check` and `text_limit`.

A call that fails raises `PlatformError`: `auth` when the token is refused (the channel is
flagged, messages wait), `retry` for a network fault, a 5xx or a 429, `too_large` when a
file is larger than the limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from destek.messaging.models import MessagingChannel


class PlatformError(Exception):
    def __init__(
        self,
        description: str,
        *,
        auth: bool = False,
        retry: bool = False,
        too_large: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.auth = auth
        self.retry = retry
        self.too_large = too_large


class BadEvent(Exception):
    """A webhook body that is not the platform's (the view answers 400, nothing is stored)."""


@dataclass(frozen=True)
class MediaRef:
    """A file of an inbound message, fetched by the worker through `fetch_media`: the
    platform's file id (or URL), the name and type it is kept under, its size if known."""

    ref: str
    name: str
    content_type: str
    size: int | None = None


@dataclass
class Inbound:
    """One message a customer sent, the same for every platform."""

    #: The id the event was stored under (unique per channel).
    external_id: str
    #: Who wrote (one contact per channel and user) and where the answer goes.
    user_id: str
    chat_id: str
    name: str = ""
    username: str = ""
    #: The language the platform says the user's app speaks ("ru", "en-US"), if it says.
    language: str | None = None
    text: str = ""
    media: list[MediaRef] = field(default_factory=list)
    #: What a ticket cannot show, as keys of texts.PLACEHOLDERS ("sticker", "location", ...):
    #: shown as lines when the message has no text of its own.
    placeholders: list[str] = field(default_factory=list)
    #: Lines that say more about what was sent (a location's coordinates, a contact's phone).
    details: list[str] = field(default_factory=list)
    is_edit: bool = False
    #: The platform's id of this message, the same in its edits (empty: `external_id`).
    message_id: str = ""
    #: The platform's id of the message this one answers, if any, and its words when the
    #: platform sends them along (Telegram does): quoted when we did not keep it ourselves.
    reply_to: str = ""
    reply_text: str = ""
    #: When the customer sent it (the platform's clock), if known.
    sent_at: datetime | None = None
    #: The payload of a button the customer pressed (Telegram's callback data, WhatsApp's
    #: reply id, a quick reply's or postback's payload); `text` is its title, if any.
    button: str = ""
    #: Telegram: the callback query a button press came as, answered once it is handled.
    callback_id: str = ""


class Platform(Protocol):
    #: The longest text one message may carry.
    text_limit: int

    def events(self, payload: Any) -> list[tuple[str, dict[str, Any]]]: ...

    def parse(self, channel: MessagingChannel, payload: dict[str, Any]) -> Inbound | None: ...

    def send_text(self, channel: MessagingChannel, chat_id: str, text: str) -> str:
        """Send `text`; the platform's id of the message sent ("" when it does not say):
        a customer's reply to it is quoted with its first line."""
        ...

    def send_buttons(
        self, channel: MessagingChannel, chat_id: str, text: str, buttons: list[tuple[str, str]]
    ) -> str:
        """`text` with buttons to press, each a (payload, title): the payload comes back as
        `Inbound.button` when pressed. The platform's id of the message sent, or ""."""
        ...

    def send_file(
        self,
        channel: MessagingChannel,
        chat_id: str,
        *,
        name: str,
        content_type: str,
        data: bytes,
        caption: str = "",
    ) -> None: ...

    def fetch_media(self, channel: MessagingChannel, media: MediaRef, *, limit: int) -> bytes: ...

    def check(self, channel: MessagingChannel) -> str:
        """Raise PlatformError unless the token works; the account's public handle (a
        Telegram bot's username, for deep links) when the platform tells it, else ""."""
        ...


def map_link(latitude: float, longitude: float) -> str:
    """A link to the place on OpenStreetMap (only a link: nothing is loaded from it)."""
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def location_details(
    latitude: Any, longitude: Any, *, title: str = "", address: str = ""
) -> list[str]:
    """The lines a shared location or place adds to a ticket: its name and address if it
    has them, then the coordinates with a map link. Nothing for coordinates that are not."""
    lines = [line for line in (" ".join(title.split()), " ".join(address.split())) if line]
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return lines
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return lines
    return [*lines, f"{lat:.5f}, {lon:.5f} {map_link(lat, lon)}"]


def contact_details(name: str, phone: str) -> list[str]:
    """The line a shared contact card adds to a ticket: the name and the phone number."""
    line = ": ".join(part for part in (" ".join(name.split()), phone.strip()) if part)
    return [line] if line else []


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a line break or a space when
    one is near the end of a part."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut <= 0:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
