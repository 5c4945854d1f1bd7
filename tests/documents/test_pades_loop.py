"""A PDF is prepared for signing on a thread that already runs an event loop (an async-capable
server, or a test driving a browser through Playwright's sync API), where ``asyncio.run`` alone
refuses."""

import asyncio

from idp.documents import pades
from tests.documents.conftest import sample_pdf


def test_a_pdf_is_prepared_inside_a_running_event_loop():
    async def inside() -> pades.PreparedPdf:
        return pades.prepare(sample_pdf())

    prepared = asyncio.run(inside())

    assert prepared.data.startswith(b"%PDF-")
    assert len(prepared.byte_range_digest) == 32
    assert 0 < prepared.start < prepared.end <= len(prepared.data)
