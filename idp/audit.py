"""The audit stream: what happened to whom and by whose decision, for an auditor.

One logger, ``idp.audit``; one line per event (JSON, ``idp.logs``): ``message`` and ``event``
are the event's name below, the other fields are the event's own. The names are a contract with
the operators' queries (docs/operators.md §10): add new ones, never rename one.

Nothing personal is logged: no name, address, birthdate, gender or My Number, no certificate,
PIN, challenge, token or code, and no document title. A card is named by ``certificate_ref``,
a hash of its certificate's issuer and serial; a person by the IdP's own random account id.
"""

from __future__ import annotations

import functools
import hashlib
import logging

import click
from cryptography import x509
from flask.cli import FlaskGroup

log = logging.getLogger("idp.audit")

LOGIN_ACCEPTED = "login.accepted"
"""A card login proved the certificate: ``account_id``, ``certificate``, ``revocation`` (``ocsp``
or ``crl``). The client follows in the same browser's ``consent.*`` and ``data.provided``."""
LOGIN_REFUSED = "login.refused"
"""A card login was refused: ``reason`` (the JPKI core's refusal code, ``csrf``, or
``rate_limited`` with the ``limit`` of ``[limits]``), ``certificate`` if the result carried a
readable one."""
CONSENT_GIVEN = "consent.given"
"""The person approved: ``client_id``, ``account_id``, ``consent_id``, ``items`` (consent item
ids such as ``claim:name``: what, never the values), ``auth_method``."""
CONSENT_DENIED = "consent.denied"
"""The person declined the consent screen: ``client_id``, ``account_id``."""
CONSENT_WITHDRAWN = "consent.withdrawn"
"""The person withdrew a consent on the account pages: ``client_id``, ``account_id``,
``consent_id``, ``token_families`` (how many were revoked with it), ``logout_queued``."""
DATA_PROVIDED = "data.provided"
"""Personal data left the IdP for a client: ``client_id``, ``account_id``, ``via`` (``token``,
``userinfo``, ``selfinfo``, ``document``), ``items`` (categories, never the values)."""
IDENTITY_VERIFIED = "identity.verified"
"""The signing certificate proved the person's identity for a client: ``client_id``,
``account_id``, ``consent_id``, ``certificate``, ``trust_framework``."""
DOCUMENT_SIGNED = "document.signed"
"""The person signed a client's document with the card: ``client_id``, ``account_id``,
``document_id``, ``certificate``."""
CLIENT_REGISTERED = "client.registered"
"""A relying party was registered (``idp client add`` or the registration endpoint):
``client_id``."""
CLIENT_CHANGED = "client.changed"
"""A client's registration changed: ``client_id``."""
CLIENT_REMOVED = "client.removed"
"""A client was deleted: ``client_id``."""
KEY_ROTATED = "key.rotated"
"""``idp keys rotate`` promoted a key to signing: ``kid``, ``alg``."""
ADMIN_COMMAND = "admin.command"
"""An ``idp`` command that changes state ran: ``command`` (its words, no arguments),
``outcome`` (``done`` or ``failed``), ``error`` (the failure's kind) if it failed."""

EVENTS = (
    LOGIN_ACCEPTED,
    LOGIN_REFUSED,
    CONSENT_GIVEN,
    CONSENT_DENIED,
    CONSENT_WITHDRAWN,
    DATA_PROVIDED,
    IDENTITY_VERIFIED,
    DOCUMENT_SIGNED,
    CLIENT_REGISTERED,
    CLIENT_CHANGED,
    CLIENT_REMOVED,
    KEY_ROTATED,
    ADMIN_COMMAND,
)


def emit(event: str, **fields: object) -> None:
    """Log ``event`` with its fields (None-valued ones left out)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    extra = {"event": event} | {k: v for k, v in fields.items() if v is not None}
    log.info(event, extra=extra)


def certificate_ref(issuer: str, serial: str) -> str:
    """A card's certificate named without the certificate: SHA-256 (hex) of its issuer (RFC 4514)
    and serial (upper-case hex), one line each. Whoever has the certificate can compute it
    (``idp audit certificate``); the log alone names no one."""
    return hashlib.sha256(f"{issuer}\n{serial.upper()}".encode()).hexdigest()


def ref_of(certificate: x509.Certificate) -> str:
    """``certificate_ref`` of a parsed certificate."""
    return certificate_ref(certificate.issuer.rfc4514_string(), f"{certificate.serial_number:X}")


def audited(command: click.Command) -> click.Command:
    """``command``, made to log an ``admin.command`` line when it ends, done or failed: its
    words, never its arguments (a file name, a client's name or a secret could be among them).
    Packages mark their commands that change something with it, where they define them."""
    callback = command.callback

    @functools.wraps(callback)
    def run(*args, **kwargs):
        context = click.get_current_context()
        words = context.command_path  # "idp keys rotate", or "selfinfo import" run on its own
        if isinstance(context.find_root().command, FlaskGroup):  # the idp program
            words = words.partition(" ")[2]
        try:
            result = callback(*args, **kwargs)
        except Exception as e:
            emit(ADMIN_COMMAND, command=words, outcome="failed", error=type(e).__name__)
            raise
        emit(ADMIN_COMMAND, command=words, outcome="done")
        return result

    command.callback = run
    return command
