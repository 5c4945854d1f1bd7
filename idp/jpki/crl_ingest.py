"""Turning a downloaded CRL into an index, and refusing every CRL that must not be used.

RFC 5280 §6.3.3: the CRL must be signed by the certificate's issuer (checked against the
configured anchors, never against the CRL's own claims), current (nextUpdate in the future),
and, when it replaces one we hold, not older (CRL number). Entries stream into a temporary
index; only a CRL that passes every check is renamed into place (crl_index.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from idp.jpki import crl_extensions
from idp.jpki.crl_index import ESTIMATED_ENTRY_BYTES, CrlIndex, IndexBuilder, capacity_for
from idp.jpki.crl_stream import CrlEnvelope, read_crl
from idp.jpki.errors import (
    CrlBadSignature,
    CrlExpired,
    CrlOutdated,
    CrlRejected,
    CrlWrongIssuer,
)

SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")


@dataclass(frozen=True)
class Expectation:
    """What the caller needs: a full CRL or a delta, and what it must not go back on."""

    delta: bool
    now: dt.datetime
    max_skew: dt.timedelta
    held_number: int | None = None
    """The number of the CRL of the same kind (full or delta) we hold."""
    base_number: int | None = None
    """For a delta: the number of the full CRL we hold; the delta must build on it."""


def ingest(
    stream: BinaryIO,
    destination: Path,
    anchors: tuple[x509.Certificate, ...],
    expect: Expectation,
) -> CrlIndex:
    """Read, check and publish one CRL; any refusal leaves ``destination`` untouched."""
    builders: list[IndexBuilder] = []

    def sinks(revoked_length: int):
        builder = IndexBuilder(destination, capacity_for(revoked_length // ESTIMATED_ENTRY_BYTES))
        builders.append(builder)
        return builder.sink()

    try:
        envelope = read_crl(stream, sinks, crl_extensions.entry_reason)
        metadata = check(envelope, anchors, expect)
        builders[0].finish(metadata)
    except (ValueError, IndexError, OverflowError) as error:  # DerError, int() on bad digits
        _abort(builders)
        raise CrlRejected(f"malformed CRL: {error}") from None
    except CrlRejected:
        _abort(builders)
        raise
    return CrlIndex(destination)


def _abort(builders: list[IndexBuilder]) -> None:
    for builder in builders:
        builder.abort()


def check(
    envelope: CrlEnvelope, anchors: tuple[x509.Certificate, ...], expect: Expectation
) -> dict[str, object]:
    """Every check, in order; returns the metadata the index keeps."""
    check_algorithm(envelope)
    anchor = check_issuer_and_signature(envelope, anchors)
    this_update, next_update = check_times(envelope, expect)
    extensions = crl_extensions.crl_extensions(envelope.extensions)
    check_kind_and_number(extensions, expect)
    return {
        "number": extensions.number,
        "delta_base": extensions.delta_base,
        "this_update": this_update.isoformat(),
        "next_update": next_update.isoformat(),
        "issuer_sha256": anchor.fingerprint(hashes.SHA256()).hex(),
        "entries": envelope.entries,
    }


def check_algorithm(envelope: CrlEnvelope) -> None:
    if envelope.signature_algorithm != SHA256_WITH_RSA or envelope.outer_algorithm != (
        SHA256_WITH_RSA
    ):
        raise CrlRejected("CRL not signed with sha256WithRSAEncryption")
    if envelope.version not in (b"\x01",):
        raise CrlRejected("not a v2 CRL")


def check_issuer_and_signature(
    envelope: CrlEnvelope, anchors: tuple[x509.Certificate, ...]
) -> x509.Certificate:
    """Issuer by name among the anchors, then by signature (docs/jpki.md §4), with cRLSign."""
    named = [a for a in anchors if a.subject.public_bytes() == envelope.issuer]
    if not named:
        raise CrlWrongIssuer("the CRL issuer is not a configured trust anchor")
    signature = envelope.signature
    if not signature or signature[0] != 0:
        raise CrlBadSignature("signature BIT STRING has unused bits")
    for anchor in named:
        key = anchor.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or not _may_sign_crls(anchor):
            continue
        try:
            key.verify(
                signature[1:],
                envelope.tbs_sha256,
                padding.PKCS1v15(),
                utils.Prehashed(hashes.SHA256()),
            )
        except InvalidSignature:
            continue
        return anchor
    raise CrlBadSignature("no anchor of that name signed this CRL")


def _may_sign_crls(anchor: x509.Certificate) -> bool:
    try:
        return anchor.extensions.get_extension_for_class(x509.KeyUsage).value.crl_sign
    except x509.ExtensionNotFound:
        return True  # RFC 5280 §4.2.1.3: without keyUsage every use is allowed


def check_times(envelope: CrlEnvelope, expect: Expectation) -> tuple[dt.datetime, dt.datetime]:
    this_update = crl_extensions.parse_time(envelope.this_update)
    if not envelope.next_update:
        raise CrlRejected("CRL without nextUpdate")
    next_update = crl_extensions.parse_time(envelope.next_update)
    if this_update > expect.now + expect.max_skew:
        raise CrlRejected("CRL thisUpdate is in the future")
    if next_update <= expect.now:
        raise CrlExpired(f"CRL expired at {next_update.isoformat()}")
    return this_update, next_update


def check_kind_and_number(extensions: crl_extensions.CrlExtensions, expect: Expectation) -> None:
    """A full CRL where a full one is due, a delta on our base; never an older number."""
    if (extensions.delta_base is not None) != expect.delta:
        raise CrlRejected("a delta CRL where a full one was expected, or the reverse")
    if expect.held_number is not None and extensions.number < expect.held_number:
        raise CrlOutdated(f"CRL number {extensions.number} < {expect.held_number} held")
    if expect.delta:
        if expect.base_number is None or extensions.delta_base > expect.base_number:  # type: ignore[operator]
            raise CrlRejected("delta CRL for a base we do not hold")
        if extensions.number <= expect.base_number:
            raise CrlOutdated("delta CRL older than the full CRL held")
