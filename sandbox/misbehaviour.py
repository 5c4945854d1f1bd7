"""How the sandbox's revocation services can be told to misbehave, for tests of their clients.

A :class:`Behaviours` holds one :class:`Behaviour` per service (``ocsp``, ``crl``) and CA kind
(``auth``, ``sign``). :mod:`sandbox.revocation_app` consults it on every request; tests change it
in-process (``server.behave(ocsp="stale")``) or over HTTP (``POST /_sandbox/behaviour``).

OCSP modes (:data:`OCSP_MODES`):

======================  ===========================================================================
``normal``              the truth from the registry
``slow``                the truth after ``delay`` seconds (3 by default)
``down``                the connection is closed without an answer
``http_500``            HTTP 500 with a text body
``garbage``             HTTP 200, ``application/ocsp-response``, random bytes
``wrong_key``           signed by an impostor responder: certified by a CA with the same name
                        as the real one but another key
``ca_signed``           signed by the CA itself, not its delegated responder (valid, RFC 6960
                        §4.2.2.2)
``stale``               thisUpdate two days ago, nextUpdate one day ago
``no_next_update``      the truth, made now, without nextUpdate (RFC 6960 §4.2.2.1: "newer
                        information is always available")
``no_nonce``            the request's nonce is not echoed
``wrong_nonce``         another nonce than the request's
``wrong_serial``        the answer is about another serial (CertID mismatch)
``try_later``           the unsigned ``tryLater`` status (likewise ``internal_error``,
                        ``unauthorized``, ``malformed_request``)
======================  ===========================================================================

CRL modes (:data:`CRL_MODES`): ``normal``, ``slow``, ``down``, ``http_500``, ``garbage``,
``wrong_key`` (the CRL re-signed by an impostor CA of the same name), ``stale`` (nextUpdate in
the past) and ``older`` (CRL number 0 and an earlier thisUpdate than anything published).

Any mode can be given a ``delay``; ``slow`` is ``normal`` with a delay.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from cryptography.x509.oid import NameOID

from sandbox import pki
from sandbox.profiles import CertKind
from sandbox.state import SandboxError

SERVICES = ("ocsp", "crl")
COMMON_MODES = ("normal", "slow", "down", "http_500", "garbage", "wrong_key", "stale")
OCSP_STATUS_MODES = {
    "try_later": "tryLater",
    "internal_error": "internalError",
    "unauthorized": "unauthorized",
    "malformed_request": "malformedRequest",
}
OCSP_MODES = (
    *COMMON_MODES,
    "ca_signed",
    "no_next_update",
    "no_nonce",
    "wrong_nonce",
    "wrong_serial",
    *OCSP_STATUS_MODES,
)
CRL_MODES = (*COMMON_MODES, "older")
MODES = {"ocsp": OCSP_MODES, "crl": CRL_MODES}
SLOW_DELAY = 3.0
"""Seconds ``slow`` waits when no ``delay`` is given: longer than a sensible client time-out."""
STALE_BY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Behaviour:
    mode: str = "normal"
    delay: float = 0.0
    """Seconds to wait before doing what ``mode`` says."""


class Behaviours:
    """Thread-safe ``(service, kind) -> Behaviour``; everything starts ``normal``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[tuple[str, CertKind], Behaviour] = {}

    def get(self, service: str, kind: CertKind) -> Behaviour:
        with self._lock:
            return self._table.get((service, kind), Behaviour())

    def set(
        self,
        service: str,
        mode: str,
        *,
        kind: CertKind | str | None = None,
        delay: float | None = None,
    ) -> None:
        """Make ``service`` of ``kind`` (both kinds when ``None``) behave as ``mode``."""
        if service not in MODES:
            raise SandboxError(f"unknown service {service!r}; one of: {', '.join(SERVICES)}")
        if mode not in MODES[service]:
            choices = ", ".join(MODES[service])
            raise SandboxError(f"unknown {service} mode {mode!r}; one of: {choices}")
        if delay is not None and not 0 <= float(delay) <= 600:
            raise SandboxError("delay is in seconds, between 0 and 600")
        seconds = float(delay) if delay is not None else (SLOW_DELAY if mode == "slow" else 0.0)
        kinds = list(CertKind) if kind is None else [_kind(kind)]
        with self._lock:
            for each in kinds:
                self._table[(service, each)] = Behaviour(mode, seconds)

    def reset(self) -> None:
        with self._lock:
            self._table.clear()

    def snapshot(self) -> dict[str, dict[str, dict[str, object]]]:
        """``{"ocsp": {"auth": {"mode": …, "delay": …}, …}, "crl": …}``."""
        return {
            service: {kind: asdict(self.get(service, kind)) for kind in CertKind}
            for service in SERVICES
        }

    def apply(self, payload: Mapping[str, object]) -> None:
        """The JSON of ``POST /_sandbox/behaviour``: ``{"ocsp": MODE, "crl": MODE, "kind": K,
        "delay": S}`` (each optional), or ``{"reset": true}`` first to clear everything."""
        unknown = set(payload) - {"ocsp", "crl", "kind", "delay", "reset"}
        if unknown:
            raise SandboxError(f"unknown keys: {', '.join(sorted(unknown))}")
        if payload.get("reset"):
            self.reset()
        kind = payload.get("kind")
        delay = payload.get("delay")
        if delay is not None and not isinstance(delay, int | float):
            raise SandboxError("delay is a number of seconds")
        for service in SERVICES:
            mode = payload.get(service)
            if mode is not None:
                self.set(service, str(mode), kind=None if kind is None else str(kind), delay=delay)  # type: ignore[arg-type]


def _kind(kind: CertKind | str) -> CertKind:
    try:
        return CertKind(kind)
    except ValueError:
        raise SandboxError(f"unknown kind {kind!r}; one of: auth, sign") from None


class Impostors:
    """Per kind, a CA with the real one's name and another key (and its own responder)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[CertKind, pki.CertificateAuthority] = {}

    def __call__(self, ca: pki.CertificateAuthority) -> pki.CertificateAuthority:
        with self._lock:
            if ca.kind not in self._made:
                names = ca.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
                self._made[ca.kind] = pki.make_ca(
                    ca.kind, now=dt.datetime.now(dt.UTC), organization=str(names[0].value)
                )
            return self._made[ca.kind]
