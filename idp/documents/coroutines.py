"""pyHanko's signing API is async; the IdP's request handlers are not."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(work: Coroutine[Any, Any, T]) -> T:
    """pyHanko's signing API is async, but a request may be served on a thread that already
    runs an event loop (an async-capable server, or a test driving a browser), where
    ``asyncio.run`` refuses: the work then gets a loop of its own on a short-lived thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
