from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receiver import Receiver, start


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A format-checking HTTP receiver on 127.0.0.1; the test fails if a payload was invalid."""
    found = Receiver()
    server = start(found)
    yield found
    server.shutdown()
    server.server_close()
    assert not found.invalid, found.invalid
