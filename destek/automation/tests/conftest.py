"""What the automation tests share: a company's system listening on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from destek.automation.tests.test_webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 for the length of one test."""
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)
