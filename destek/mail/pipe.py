"""`destek ingest-email`: one message on standard input, for a mail server's pipe.

Exit codes (sysexits, as mail servers read them): 0 when the message was stored, quarantined
or deliberately ignored (the line printed says which, with the ticket number); 75 (EX_TEMPFAIL)
when nothing could be kept, so the mail server tries again later; 65 (EX_DATAERR) when the
message cannot be accepted at all (empty, over DESTEK_MAIL_MAX_MB), so it bounces.
"""

from __future__ import annotations

import logging
from typing import BinaryIO, TextIO

from django.conf import settings

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75

log = logging.getLogger(__name__)


def ingest(stream: BinaryIO, out: TextIO, err: TextIO, *, source: str = "pipe") -> int:
    from destek.mail.actions import TemporaryFailure, Unacceptable, process_message

    limit = settings.DESTEK_MAIL_MAX_MB * 1024 * 1024
    raw = stream.read(limit + 1)
    try:
        outcome = process_message(raw, source)
    except Unacceptable as exc:
        print(f"refused: {exc}", file=err)
        return EX_DATAERR
    except TemporaryFailure as exc:
        print(f"temporary failure, try again later: {exc}", file=err)
        return EX_TEMPFAIL
    except Exception as exc:  # anything unforeseen: the mail server keeps the message
        log.exception("ingest-email failed")
        print(f"temporary failure, try again later: {type(exc).__name__}", file=err)
        return EX_TEMPFAIL
    print(outcome.describe(), file=out)
    return EX_OK
