"""HTTP for OCSP and CRLs, behind a small Protocol so tests and callers can inject it.

Time and network are parameters (docs/contributing.md §4): the OCSP service and the CRL updater take
a ``Transport``; this module's ``HttpTransport`` is the production one (stdlib ``urllib``, no
redirects to other schemes, bounded sizes, a deadline for the whole exchange).
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import BinaryIO, Protocol

from idp.jpki.errors import ResponderTimeout, ResponderUnavailable

MAX_OCSP_RESPONSE = 64 * 1024
_READ = 64 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A responder or CRL server that redirects is refused: it could point anywhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ARG002
        raise urllib.error.HTTPError(newurl, code, "redirects are not followed", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirects)


class Transport(Protocol):
    def post(self, url: str, body: bytes, content_type: str, timeout: float) -> bytes:
        """The response body of a 200 answer; ResponderUnavailable/ResponderTimeout otherwise."""

    def download(self, url: str, sink: BinaryIO, timeout: float, max_bytes: int) -> None:
        """Stream a 200 answer's body into ``sink``."""


class HttpTransport:
    """``urllib`` with a deadline: a responder that trickles bytes is as late as a silent one."""

    def post(self, url: str, body: bytes, content_type: str, timeout: float) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in _open
            url, data=body, headers={"Content-Type": content_type}, method="POST"
        )
        chunks: list[bytes] = []
        self._transfer(request, timeout, MAX_OCSP_RESPONSE, chunks.append)
        return b"".join(chunks)

    def download(self, url: str, sink: BinaryIO, timeout: float, max_bytes: int) -> None:
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - checked in _open
        self._transfer(request, timeout, max_bytes, sink.write)

    def _transfer(self, request: urllib.request.Request, timeout: float, limit: int, out) -> None:
        if request.type not in ("http", "https"):
            raise ResponderUnavailable(f"unsupported URL scheme {request.type!r}")
        deadline = time.monotonic() + timeout
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                _read_body(response, deadline, timeout, limit, out)
        except urllib.error.HTTPError as error:
            raise ResponderUnavailable(f"HTTP {error.code}") from None
        except TimeoutError:
            raise ResponderTimeout(f"no answer within {timeout:g} s") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError | socket.timeout):
                raise ResponderTimeout(f"no answer within {timeout:g} s") from None
            raise ResponderUnavailable(f"unreachable: {error.reason}") from None
        except (OSError, ValueError) as error:
            raise ResponderUnavailable(f"transport error: {type(error).__name__}") from None
        if time.monotonic() > deadline:
            raise ResponderTimeout(f"no complete answer within {timeout:g} s")


def _read_body(response, deadline: float, timeout: float, limit: int, out) -> None:
    """Hand the body on chunk by chunk, refusing it once it passes ``limit`` bytes or the
    deadline: the socket timeout bounds each read, not the whole answer."""
    received = 0
    while chunk := response.read(_READ):
        received += len(chunk)
        if received > limit:
            raise ResponderUnavailable("response larger than allowed")
        if time.monotonic() > deadline:
            raise ResponderTimeout(f"no complete answer within {timeout:g} s")
        out(chunk)
