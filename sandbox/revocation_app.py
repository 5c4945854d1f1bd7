"""The sandbox's revocation services as a WSGI application: OCSP (RFC 6960) and CRLs (RFC 5280).

Routes (``KIND`` is ``auth`` or ``sign``):

- ``POST /ocsp/KIND`` — body ``application/ocsp-request``, answer ``application/ocsp-response``.
- ``GET /ocsp/KIND/<request>`` — the request DER, base64, URL-encoded (RFC 6960 appendix A.1).
- ``GET /crl/KIND.crl`` and ``GET /crl/KIND-delta.crl`` — ``application/pkix-crl`` (DER), built
  from the registry on demand (:func:`sandbox.crl.publish`), so a ``jpki-sandbox revoke`` shows at
  once; the same bytes are written to ``STATE/crl/``.
- ``GET /feed?after=CURSOR&limit=N&nonce=X`` — one signed page of the revocation-notification
  feed (:mod:`sandbox.feed`), ``application/jose``; a bad cursor, limit or nonce is a 400.
- ``GET /linkage?serial=HEX&type=auth|sign&nonce=X`` — the signed linkage answer for one serial
  (:mod:`sandbox.linkage`), ``application/jose``; a malformed request is a 400, a serial the CA
  never issued a 404. ``GET /linkage/feed?after=CURSOR&limit=N&nonce=X`` — every link, in
  pages as the revocation feed's (``typ`` ``jpki-linkage-feed+jws``).
- ``POST /tsa`` — RFC 3161: body ``application/timestamp-query``, answer
  ``application/timestamp-reply`` (:mod:`sandbox.tsa`); ``GET /crl/tsa.crl`` its root's CRL;
  ``GET``/``POST /_sandbox/tsa`` ``{"mode": …}`` its misbehaviour (loopback clients only).
- ``GET /_sandbox/requests`` — how many OCSP and CRL requests each CA received, as JSON
  (``DELETE`` zeroes the counts): tests of a client's single-flight caching read it.
- ``GET /_sandbox/behaviour`` — the current misbehaviour, as JSON.
- ``POST /_sandbox/behaviour`` — change it (loopback clients only), JSON::

      {"ocsp": "slow", "delay": 3}            both kinds' OCSP answers after 3 s
      {"ocsp": "stale", "kind": "auth"}       only the authentication CA's
      {"crl": "wrong_key"}                    CRLs signed by an impostor
      {"ocsp": "normal", "crl": "normal"}     back to the truth
      {"reset": true}                         likewise, for everything

  Modes are listed in :mod:`sandbox.misbehaviour`; an unknown mode or key is a 400.

:mod:`sandbox.server` runs it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
import threading
import time
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox import crl, feed, linkage, ocsp, tsa
from sandbox.misbehaviour import OCSP_STATUS_MODES, STALE_BY, Behaviour, Behaviours, Impostors
from sandbox.profiles import CertKind
from sandbox.state import SandboxError, SandboxState

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
JOSE = "application/jose"
PKIX_CRL = "application/pkix-crl"
MAX_REQUEST = 64 * 1024
"""Bytes; an OCSP request for one certificate is about a hundred."""


class _Drop(ConnectionAbortedError):
    """Raised after shutting the socket: Werkzeug then writes nothing (``down``)."""


class RevocationApp:
    """The WSGI application; one per served state directory."""

    def __init__(
        self,
        state: SandboxState,
        behaviours: Behaviours | None = None,
        delta_interval: float = crl.DELTA_INTERVAL.total_seconds(),
    ) -> None:
        self.state = state
        self.delta_interval = dt.timedelta(seconds=delta_interval)
        """The CRLs are published again at least this often, even when nothing changed."""
        self.behaviours = behaviours or Behaviours()
        self.impostors = Impostors()
        self.requests = RequestCounter()
        self.tsa_mode = "normal"
        tsa.authority(state)  # made now, not in the middle of the first time-stamp request
        self.url_map = Map(
            [
                Rule("/ocsp/<kind>", methods=["POST"], endpoint="ocsp_post"),
                Rule("/ocsp/<kind>/<path:encoded>", methods=["GET"], endpoint="ocsp_get"),
                Rule("/crl/tsa.crl", methods=["GET"], endpoint="tsa_crl"),
                Rule("/crl/<name>", methods=["GET"], endpoint="crl"),
                Rule("/feed", methods=["GET"], endpoint="feed"),
                Rule("/linkage", methods=["GET"], endpoint="linkage"),
                Rule("/linkage/feed", methods=["GET"], endpoint="linkage_feed"),
                Rule("/tsa", methods=["POST"], endpoint="tsa"),
                Rule("/_sandbox/tsa", methods=["GET", "POST"], endpoint="tsa_behaviour"),
                Rule("/_sandbox/behaviour", methods=["GET", "POST"], endpoint="behaviour"),
                Rule("/_sandbox/requests", methods=["GET", "DELETE"], endpoint="requests"),
            ],
            merge_slashes=False,  # base64 may hold "//"
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as error:
            response = error.get_response(environ)
        return response(environ, start_response)

    # --- OCSP -------------------------------------------------------------------------------

    def on_ocsp_post(self, request: Request, kind: str) -> Response:
        if (request.content_length or 0) > MAX_REQUEST:
            return self._ocsp(request, _kind(kind), b"")
        return self._ocsp(request, _kind(kind), request.get_data(cache=False))

    def on_ocsp_get(self, request: Request, kind: str, encoded: str) -> Response:
        cert_kind = _kind(kind)
        try:  # the path is already URL-decoded; padding is optional in practice
            der = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        return self._ocsp(request, cert_kind, der)

    def _ocsp(self, request: Request, kind: CertKind, der: bytes) -> Response:
        self.requests.count("ocsp", kind)
        behaviour = self.behaviours.get("ocsp", kind)
        early = _early(request, behaviour, OCSP_RESPONSE)
        if early is not None:
            return early
        mode = behaviour.mode
        if mode in OCSP_STATUS_MODES:
            return Response(ocsp.unsuccessful(OCSP_STATUS_MODES[mode]), content_type=OCSP_RESPONSE)
        ca = self.state.ca(kind)
        now = dt.datetime.now(dt.UTC)
        options: dict[str, Any] = {"now": now}
        if mode == "wrong_key":
            options["signer"] = self.impostors(ca).responder
        elif mode == "ca_signed":
            options["signer"] = ca.root
        elif mode == "stale":
            options["this_update"], options["next_update"] = now - 2 * STALE_BY, now - STALE_BY
        elif mode == "no_next_update":
            options["omit_next_update"] = True
        elif mode == "no_nonce":
            options["nonce"] = None
        elif mode == "wrong_nonce":
            options["nonce"] = os.urandom(16)
        elif mode == "wrong_serial":
            options["serial_offset"] = 1
        body = ocsp.respond(ca, self.state.registry(kind), der, **options)
        return Response(body, content_type=OCSP_RESPONSE, headers={"Cache-Control": "no-store"})

    # --- CRLs -------------------------------------------------------------------------------

    def on_crl(self, request: Request, name: str) -> Response:
        stem, dot, extension = name.partition(".")
        kind_name, _, delta = stem.partition("-")
        if dot != "." or extension != "crl" or delta not in ("", "delta"):
            raise NotFound()
        kind = _kind(kind_name)
        self.requests.count("crl", kind)
        behaviour = self.behaviours.get("crl", kind)
        early = _early(request, behaviour, PKIX_CRL)
        if early is not None:
            return early
        published = crl.publish(self.state, kind, delta_interval=self.delta_interval)
        body = published.delta if delta else published.full
        ca = self.state.ca(kind)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if behaviour.mode == "wrong_key":
            body = crl.reissue(ca, body, signer=self.impostors(ca).root)
        elif behaviour.mode == "stale":
            body = crl.reissue(ca, body, this_update=now - 2 * STALE_BY, next_update=now - STALE_BY)
        elif behaviour.mode == "older":
            body = crl.reissue(
                ca,
                body,
                number=0,
                this_update=now - dt.timedelta(hours=1),
                next_update=now + dt.timedelta(hours=23),
            )
        return Response(body, content_type=PKIX_CRL, headers={"Cache-Control": "no-cache"})

    # --- the revocation feed -----------------------------------------------------------------

    def on_feed(self, request: Request) -> Response:
        args = request.args
        try:
            payload = feed.page_payload(
                self.state.root,
                args.get("after"),
                args.get("limit"),
                args.get("nonce"),
                now=dt.datetime.now(dt.UTC),
                issuer=f"{self.state.endpoints.base_url.rstrip('/')}/feed",
            )
        except feed.FeedRequestError as error:
            return _json({"error": "invalid_request", "error_description": str(error)}, 400)
        body = feed.sign_page(self.state.feed_signer(), payload)
        return Response(body, content_type=JOSE, headers={"Cache-Control": "no-store"})

    def on_linkage(self, request: Request) -> Response:
        args = request.args
        statuses = {
            str(kind): {serial: entry.status for serial, entry in self.state.registry(kind).items()}
            for kind in CertKind
        }
        try:
            payload = linkage.answer_payload(
                self.state.root,
                args.get("serial"),
                args.get("type"),
                args.get("nonce"),
                statuses=statuses,
                now=dt.datetime.now(dt.UTC),
                issuer=f"{self.state.endpoints.base_url.rstrip('/')}/linkage",
            )
        except feed.FeedRequestError as error:
            return _json({"error": "invalid_request", "error_description": str(error)}, 400)
        except linkage.UnknownSerial as error:
            return _json({"error": "unknown_serial", "error_description": str(error)}, 404)
        body = feed.sign_page(
            self.state.feed_signer(), payload, header={"typ": linkage.ANSWER_TYPE}
        )
        return Response(body, content_type=JOSE, headers={"Cache-Control": "no-store"})

    def on_linkage_feed(self, request: Request) -> Response:
        args = request.args
        try:
            payload = feed.page_payload(
                self.state.root,
                args.get("after"),
                args.get("limit"),
                args.get("nonce"),
                now=dt.datetime.now(dt.UTC),
                issuer=f"{self.state.endpoints.base_url.rstrip('/')}/linkage/feed",
                source=linkage.links,
            )
        except feed.FeedRequestError as error:
            return _json({"error": "invalid_request", "error_description": str(error)}, 400)
        header = {"typ": linkage.FEED_TYPE}
        body = feed.sign_page(self.state.feed_signer(), payload, header=header)
        return Response(body, content_type=JOSE, headers={"Cache-Control": "no-store"})

    # --- the time-stamping authority ---------------------------------------------------------

    def on_tsa(self, request: Request) -> Response:
        early = _early(request, Behaviour(self.tsa_mode), tsa.TIMESTAMP_REPLY)
        if early is not None:
            return early
        if (request.content_length or 0) > MAX_REQUEST:
            return Response("request too large\n", 413, content_type="text/plain")
        try:
            body = tsa.authority(self.state).respond(request.get_data(cache=False), self.tsa_mode)
        except ValueError:
            return Response("not a TimeStampReq\n", 400, content_type="text/plain")
        headers = {"Cache-Control": "no-store"}
        return Response(body, content_type=tsa.TIMESTAMP_REPLY, headers=headers)

    def on_tsa_crl(self, _request: Request) -> Response:
        body = tsa.authority(self.state).crl()
        return Response(body, content_type=PKIX_CRL, headers={"Cache-Control": "no-cache"})

    def on_tsa_behaviour(self, request: Request) -> Response:
        if request.method == "POST":
            if not _is_loopback(request.remote_addr):
                return _json({"error": "only loopback clients may change the behaviour"}, 403)
            try:
                mode = json.loads(request.get_data(as_text=True) or "{}").get("mode")
            except (ValueError, AttributeError):
                mode = None
            if mode not in tsa.MODES:
                return _json({"error": f"mode is one of: {', '.join(tsa.MODES)}"}, 400)
            self.tsa_mode = mode
        return _json({"mode": self.tsa_mode}, 200)

    # --- control ----------------------------------------------------------------------------

    def on_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
        return _json(self.requests.snapshot(), 200)

    def on_behaviour(self, request: Request) -> Response:
        if request.method == "POST":
            if not _is_loopback(request.remote_addr):
                return _json({"error": "only loopback clients may change the behaviour"}, 403)
            try:
                payload = json.loads(request.get_data(as_text=True) or "{}")
                if not isinstance(payload, dict):
                    raise SandboxError("the body is a JSON object")
                self.behaviours.apply(payload)
            except (ValueError, SandboxError) as error:
                return _json({"error": str(error)}, 400)
        return _json(self.behaviours.snapshot(), 200)


class RequestCounter:
    """How many OCSP and CRL requests each CA's service received (for single-flight tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, CertKind], int] = {}

    def count(self, service: str, kind: CertKind) -> None:
        with self._lock:
            self._counts[(service, kind)] = self._counts.get((service, kind), 0) + 1

    def get(self, service: str, kind: CertKind | str | None = None) -> int:
        with self._lock:
            return sum(
                n for (s, k), n in self._counts.items() if s == service and kind in (None, k)
            )

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{"ocsp": {"auth": N, "sign": N}, "crl": {...}}``."""
        return {s: {k: self.get(s, k) for k in CertKind} for s in ("ocsp", "crl")}


def _early(request: Request, behaviour: Behaviour, content_type: str) -> Response | None:
    """The misbehaviours that need no answer to be computed: delay, drop, 500, garbage."""
    if behaviour.delay:
        time.sleep(behaviour.delay)
    if behaviour.mode == "down":
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise _Drop("the sandbox service is down")
    if behaviour.mode == "http_500":
        return Response(
            "internal server error (sandbox misbehaviour)\n", 500, content_type="text/plain"
        )
    if behaviour.mode == "garbage":
        return Response(os.urandom(96), content_type=content_type)
    return None


def _kind(name: str) -> CertKind:
    try:
        return CertKind(name)
    except ValueError:
        raise NotFound(f"no CA {name!r}: auth or sign") from None


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _json(value: object, status: int) -> Response:
    return Response(json.dumps(value) + "\n", status, content_type="application/json")
