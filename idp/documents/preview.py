"""The review page's picture of the document: its first page, rendered here, as a PNG.

Rendered from the stored PDF, the very bytes the signature will cover (the signed file is them
plus the signature), so the citizen sees what they sign rather than what a PDF viewer plug-in
or a third party makes of it, and the page keeps its strict CSP (an ``<img>`` of the same
origin; no frame, no script, nothing fetched elsewhere).

Poppler's ``pdftoppm`` renders it in a child process with a wall-clock timeout and a memory and
CPU limit (``prlimit``), because the PDF comes from a service and a broken or hostile file must
cost a bounded amount and never take a worker down. The picture is at most ``LONG_SIDE`` pixels
on its long side whatever the page's size, and kept in the ephemeral store until the request
expires, so reloading the page renders nothing again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time

from ..services import services
from ..storage.documents import DocumentRequest
from ..storage.ephemeral import EPHEMERAL

log = logging.getLogger(__name__)

LONG_SIDE = 1240
"""Pixels on the page's long side: A4 at 150 dpi, sharp enough to read small print."""
TIMEOUT = 20
MEMORY = 1024 * 1024 * 1024
CPU_SECONDS = 15
PNG = b"\x89PNG\r\n\x1a\n"


class PreviewUnavailable(Exception):
    """No picture: the renderer is missing, failed, ran out of time, or made no PNG."""


def render_first_page(pdf: bytes) -> bytes:
    """The first page of ``pdf`` as a PNG, or ``PreviewUnavailable``."""
    pdftoppm, prlimit = shutil.which("pdftoppm"), shutil.which("prlimit")
    if pdftoppm is None or prlimit is None:
        raise PreviewUnavailable("pdftoppm or prlimit is not installed (poppler-utils)")
    command = [
        prlimit, f"--as={MEMORY}", f"--cpu={CPU_SECONDS}", "--",
        pdftoppm, "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to", str(LONG_SIDE),
        "-aa", "yes", "-aaVector", "yes", "-",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, input=pdf, capture_output=True, timeout=TIMEOUT, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise PreviewUnavailable(f"pdftoppm took more than {TIMEOUT} s") from None
    if done.returncode != 0 or not done.stdout.startswith(PNG):
        raise PreviewUnavailable(f"pdftoppm failed ({done.returncode})")
    return done.stdout


def _key(document: DocumentRequest) -> str:
    return f"doc-preview:{document.id}:{document.digest}"


def first_page(document: DocumentRequest, now: float | None = None) -> bytes:
    """The document's first page (from the store when rendered before)."""
    if document.pdf is None:
        raise PreviewUnavailable("the service sent a digest, not a PDF")
    store = services()[EPHEMERAL]
    if (kept := store.get(_key(document))) is not None:
        return kept
    started = time.monotonic()
    png = render_first_page(document.pdf)
    log.info("document %s: preview in %.2f s", document.id, time.monotonic() - started)
    ttl = document.expires_at - (time.time() if now is None else now)
    if ttl > 0:
        store.set(_key(document), png, ttl)
    return png
