"""The Shared Signals tests that matter most for the production store, again on PostgreSQL:
fan-out, poll with ack, push with a retry, the outbox across a restart."""

from __future__ import annotations

import pytest

from tests.ssf.test_delivery import (  # noqa: F401 (collected here again, on PostgreSQL)
    pushed,
    test_a_receiver_down_then_up_gets_the_event_after_a_retry,
    test_the_outbox_survives_a_restart,
)
from tests.ssf.test_management import test_the_stream_lifecycle  # noqa: F401
from tests.ssf.test_signals import (  # noqa: F401
    test_every_grant_holder_with_a_stream_is_told_under_its_own_subject,
)
from tests.ssf.test_transmitter import test_a_stream_verified_and_told_by_poll  # noqa: F401


@pytest.fixture
def database_url(postgres_url):
    return postgres_url


@pytest.fixture
def app(transmitter):
    return transmitter
