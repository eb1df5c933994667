"""`destek smtpd`: a built-in SMTP (or LMTP) listener for sites without a mail server.

It accepts mail only for our domains (DESTEK_SUPPORT_ADDRESS's and the departments' addresses',
plus-addresses included): anything else gets 550, so it is never an open relay. A message over
DESTEK_MAIL_MAX_MB gets 552 (announced with SIZE, so good clients never send it). The message
goes to the same pipeline as every other adapter; the answer after DATA tells the sending
server what became of it:

    250  stored, ignored on purpose or quarantined (kept either way)
    451  temporary failure: nothing kept, try again later
    554  cannot be accepted (empty)

The pipeline is synchronous Django code: it runs in a thread pool, each call on a fresh
database connection closed afterwards, so the event loop keeps serving other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, connection

from destek.accounts.models import normalize_email
from destek.mail.actions import TemporaryFailure, Unacceptable, process_message
from destek.tickets.models import Department

log = logging.getLogger(__name__)

T = TypeVar("T")


def _in_django(function: Callable[..., T], *args: Any) -> T:
    """Run Django code in a pool thread: a fresh connection, closed afterwards (the pool's
    threads live long, and a connection left open would outlive a database restart)."""
    close_old_connections()
    try:
        return function(*args)
    finally:
        connection.close()


def _base(address: str) -> tuple[str, str]:
    """(local part without +tag, domain), lower-cased."""
    local, _, domain = normalize_email(address).rpartition("@")
    return local.split("+", 1)[0], domain


def recipient(address: str) -> tuple[bool, int | None]:
    """Whether we take mail for `address`, and the department whose address it is."""
    local, domain = _base(address)
    if not local or not domain:
        return False, None
    ours = {_base(settings.DESTEK_SUPPORT_ADDRESS)[1]}
    department_id = None
    for pk, email in Department.objects.exclude(email="").values_list("pk", "email"):
        ours.add(_base(email)[1])
        if _base(email) == (local, domain):
            department_id = pk
    return domain in ours, department_id


def deliver(raw: bytes, source: str, department_id: int | None) -> str:
    """The pipeline, for one message; the reply line for the sending server."""
    department = None
    if department_id is not None:
        department = Department.objects.filter(pk=department_id).first()
    try:
        outcome = process_message(raw, source, department=department)
    except Unacceptable as exc:
        return f"554 5.6.0 Message not accepted: {exc}"
    except TemporaryFailure:
        log.warning("smtpd: temporary failure", exc_info=True)
        return "451 4.3.0 Temporary failure, please try again later"
    except Exception:
        log.exception("smtpd: the pipeline failed")
        return "451 4.3.0 Temporary failure, please try again later"
    return f"250 2.0.0 {outcome.describe()}"


class InboundHandler:
    """aiosmtpd hooks: the recipient check at RCPT, the pipeline at DATA."""

    def __init__(self, *, lmtp: bool = False, workers: int = 4) -> None:
        self.lmtp = lmtp
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtpd")

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _in_django, function, *args)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            ours, department_id = await self._run(recipient, address)
        except Exception:
            log.exception("smtpd: checking a recipient failed")
            return "451 4.3.0 Temporary failure, please try again later"
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        if department_id is not None and not hasattr(envelope, "destek_department"):
            envelope.destek_department = department_id  # type: ignore[attr-defined]
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        source = "lmtp" if self.lmtp else "smtp"
        department_id = getattr(envelope, "destek_department", None)
        status = await self._run(deliver, raw, source, department_id)
        if self.lmtp:
            # RFC 2033: one reply per accepted recipient. The message is processed once: it is
            # one message, and the pipeline would answer "duplicate" to the second anyway.
            return "\r\n".join([status] * len(envelope.rcpt_tos))
        return status


class InboundController(Controller):
    """aiosmtpd's threaded controller, serving SMTP or LMTP."""

    def __init__(self, host: str, port: int, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp
        super().__init__(
            InboundHandler(lmtp=lmtp),
            hostname=host,
            port=port,
            data_size_limit=settings.DESTEK_MAIL_MAX_MB * 1024 * 1024,
            ident="Destek",
        )

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert=no_assert)
        self.handler.executor.shutdown(wait=True)


def serve() -> int:
    """Listen on DESTEK_SMTPD_HOST:DESTEK_SMTPD_PORT until SIGINT or SIGTERM."""
    host, port = settings.DESTEK_SMTPD_HOST, settings.DESTEK_SMTPD_PORT
    lmtp = settings.DESTEK_SMTPD_LMTP
    controller = InboundController(host, port, lmtp=lmtp)
    controller.start()
    print(
        f"Destek {'LMTP' if lmtp else 'SMTP'} listener on {host}:{port} (Ctrl-C stops it)",
        flush=True,
    )
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping.wait(1):
        pass
    controller.stop()
    print("Destek listener stopped.", flush=True)
    return 0
