"""Who is on a ticket: agents viewing it, and typing a reply or a note (collision warnings).

Kept in the Django cache (Redis in production, a file cache embedded, memory in tests), so
the page's polls and the ticket socket (desk/consumers.py) read the same thing, whatever
process serves them. Nothing here touches the database.

One key per open page ("tab": a random id the page was rendered with), holding who and what
they type, expiring VIEWING_SECONDS after its last heartbeat; a page that closes deletes its
key (`pagehide` beacon or the socket's close). A list per ticket names the tabs, so a reader
finds them; each page writes only its own key, and the list is only ever a hint: a tab whose
key expired is dropped when read, a tab missing from the list (two pages added it at the same
instant and one write won) adds itself again at its next heartbeat.

Changes are announced to the ticket's sockets through the channel layer (group
`ticket.<id>`, message `{"type": "presence.changed"}`): a hint to read again, so a missed one
costs only the few seconds until the next poll.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from destek.accounts.models import User
from destek.chat import realtime

#: A page that stops sending heartbeats stops counting as viewing after this long.
VIEWING_SECONDS = 30
#: How often a page (or its socket) says it is still open; well inside VIEWING_SECONDS.
HEARTBEAT_SECONDS = 10
#: "Typing" lasts this long after the last keystroke heard.
TYPING_SECONDS = 6
#: Tabs one ticket's list holds at most (each agent's pages together are far fewer).
MAX_TABS = 100
LIST_SECONDS = 3600

VIEWING = "viewing"
REPLY = "reply"
NOTE = "note"
GONE = "gone"
STATES = (VIEWING, REPLY, NOTE, GONE)
TYPING_BOXES = (REPLY, NOTE)

TAB = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def valid_tab(value: str) -> bool:
    return bool(TAB.match(value))


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def _list_key(ticket_id: int) -> str:
    return f"desk:presence:{ticket_id}"


def _tab_key(ticket_id: int, member: str) -> str:
    return f"desk:presence:{ticket_id}:{member}"


@dataclass(frozen=True)
class Present:
    """One agent on the ticket, however many pages they have open: typing if any of them
    types (a reply before a note)."""

    user_id: int
    name: str
    state: str  # VIEWING, REPLY or NOTE

    @property
    def typing(self) -> bool:
        return self.state in TYPING_BOXES


def record(ticket_id: int, user: User, tab: str, state: str) -> bool:
    """Note that `user`'s page `tab` is open on the ticket (VIEWING: a heartbeat, which keeps
    any typing going), types in a box (REPLY, NOTE) or closed (GONE). True when readers would
    see a difference (someone arrived, left, started typing)."""
    member = f"{user.pk}:{tab}"
    key = _tab_key(ticket_id, member)
    before: dict[str, Any] | None = cache.get(key)
    if state == GONE:
        cache.delete(key)
        return before is not None
    now = time.time()
    after = {"user": user.pk, "name": user.display_name, "box": "", "until": 0.0, "at": now}
    if state in TYPING_BOXES:
        after.update(box=state, until=now + TYPING_SECONDS)
    elif before is not None and before.get("until", 0) > now:
        after.update(box=before["box"], until=before["until"])
    cache.set(key, after, VIEWING_SECONDS)
    members: list[str] = cache.get(_list_key(ticket_id)) or []
    if member not in members:
        cache.set(_list_key(ticket_id), [*members, member][-MAX_TABS:], LIST_SECONDS)
    was_typing = before is not None and before.get("until", 0) > now and before.get("box")
    return before is None or (after["box"] or "") != (was_typing or "")


def present(ticket_id: int, *, reader: User) -> list[Present]:
    """The agents on the ticket other than `reader`, by name, each once."""
    members: list[str] = cache.get(_list_key(ticket_id)) or []
    if not members:
        return []
    found: dict[str, dict[str, Any]] = cache.get_many([_tab_key(ticket_id, m) for m in members])
    alive = [m for m in members if _tab_key(ticket_id, m) in found]
    if len(alive) != len(members):
        cache.set(_list_key(ticket_id), alive, LIST_SECONDS)
    now = time.time()
    rank = {VIEWING: 0, NOTE: 1, REPLY: 2}
    people: dict[int, Present] = {}
    for value in found.values():
        user_id = int(value["user"])
        # The key's expiry is the cache's to keep, to the second or so: the time stamp says.
        if user_id == reader.pk or value.get("at", 0) < now - VIEWING_SECONDS:
            continue
        state = value["box"] if value.get("box") and value.get("until", 0) > now else VIEWING
        known = people.get(user_id)
        if known is None or rank[state] > rank[known.state]:
            people[user_id] = Present(user_id, str(value["name"]), state)
    return sorted(people.values(), key=lambda p: (p.name.casefold(), p.user_id))


def announce(ticket_id: int) -> None:
    """Tell the ticket's open sockets to read presence again (never raises)."""
    realtime.send(ticket_group(ticket_id), {"type": "presence.changed"})
