"""Very large signed CRLs, streamed: J-LIS-sized lists (millions of entries) for the benchmarks.

cryptography would build a CRL from one Python object per entry; at 10M entries that is tens of
gigabytes. :func:`write_large_crl` writes the DER itself instead (RFC 5280 §5.1):

1. Synthetic entries have a fixed size (16-octet serials, UTCTime dates from a small table, a
   reason code on each), so every length in the TBSCertList is known before the first byte.
2. The header, the entries in chunks, and the CRL extensions are written and hashed as they go.
3. The SHA-256 digest is signed with the CA key through ``Prehashed``, and the signature written.

Memory stays flat whatever ``entries`` is. The synthetic serials are a pure function of the seed
and the index (:func:`synthetic_serial`, a bijection of the index), so a benchmark can look up
present serials (``crl.serial(i)`` for ``i < crl.synthetic``) and absent ones
(``crl.absent_serial(j)``) without keeping a list. Real serials of sandbox-issued certificates can
be placed inside the list too (``real=``), spread evenly through it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from sandbox import der
from sandbox.crl_build import issuing_distribution_point
from sandbox.pki import CertificateAuthority, Issuer

CHUNK = 50_000
"""Entries encoded per write: about 2.5 MB of DER at a time."""
SPAN = dt.timedelta(days=5 * 365)
"""Synthetic revocation dates fall in the five years before thisUpdate (a card's lifetime)."""
_MASK = (1 << 64) - 1
_SERIAL_PREFIX = 0x4A50  # "JP": the top octet is below 0x80, so every serial is 16 octets
# Weighted by a guess at JPKI's reality: changes of address (affiliationChanged, docs/jpki.md §3)
# outnumber the other reasons.
_REASONS = (
    *[x509.ReasonFlags.affiliation_changed] * 9,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.key_compromise,
    x509.ReasonFlags.key_compromise,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.certificate_hold,
)
_REASON_CODE = {
    x509.ReasonFlags.unspecified: 0,
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6,
    x509.ReasonFlags.remove_from_crl: 8,
    x509.ReasonFlags.privilege_withdrawn: 9,
    x509.ReasonFlags.aa_compromise: 10,
}
_TIMES = 4096  # distinct revocation dates
_SHA256_WITH_RSA = der.sequence(der.oid("1.2.840.113549.1.1.11"), der.tlv(der.NULL, b""))


class RevokedLike(Protocol):
    """Anything with a serial, a date and a reason, such as :class:`sandbox.crl.CrlEntry`."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None


def _mix(value: int) -> int:
    """SplitMix64's finaliser: a bijection on 64-bit integers, so serials never collide."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _salt(seed: int) -> tuple[int, int]:
    """48 bits that tell this seed's serials apart, and a 56-bit offset into the index space."""
    digest = hashlib.sha256(seed.to_bytes(16, "big", signed=True)).digest()
    return int.from_bytes(digest[:6], "big"), int.from_bytes(digest[6:13], "big")


def synthetic_serial(seed: int, index: int) -> int:
    """The serial of synthetic entry ``index`` of the CRL written with ``seed``."""
    middle, offset = _salt(seed)
    low = _mix(index + offset)  # index + offset < 2**64 for any index below 2**63
    return (_SERIAL_PREFIX << 112) | (middle << 64) | low


def _reason_extension(reason: x509.ReasonFlags | None) -> bytes:
    """crlEntryExtensions holding one reasonCode (§5.3.1), or nothing."""
    if reason is None:
        return b""
    value = der.tlv(der.ENUMERATED, bytes([_REASON_CODE[reason]]))
    return der.sequence(der.extension("2.5.29.21", value, critical=False))


def _entry(serial: int, revoked_at: dt.datetime, reason: x509.ReasonFlags | None) -> bytes:
    return der.sequence(der.integer(serial), der.time(revoked_at), _reason_extension(reason))


@dataclass(frozen=True)
class LargeCrl:
    """What :func:`write_large_crl` wrote: enough to name present and absent serials."""

    path: Path | None
    entries: int
    synthetic: int
    real_serials: tuple[int, ...]
    seed: int
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    size: int

    def serial(self, index: int) -> int:
        """Synthetic entry ``index`` (0 ≤ index < ``synthetic``): on the list."""
        if not 0 <= index < self.synthetic:
            raise IndexError(index)
        return synthetic_serial(self.seed, index)

    def absent_serial(self, index: int) -> int:
        """A serial shaped like the synthetic ones that is not on the list."""
        return synthetic_serial(self.seed, self.synthetic + index)

    def reason(self, index: int) -> x509.ReasonFlags:
        return _REASONS[synthetic_serial(self.seed, index) & 15]

    def revoked_at(self, index: int) -> dt.datetime:
        slot = (synthetic_serial(self.seed, index) >> 4) % _TIMES
        return _time_slots(self.this_update)[slot]


def _time_slots(this_update: dt.datetime) -> list[dt.datetime]:
    """The synthetic revocation dates; all of one encoded size (UTCTime ends with 2049)."""
    start = this_update - SPAN
    step = SPAN / _TIMES
    slots = [(start + step * k).replace(microsecond=0) for k in range(_TIMES)]
    size = len(der.time(slots[-1]))
    return [moment if len(der.time(moment)) == size else slots[-1] for moment in slots]


class _Sink:
    """Writes and hashes; counts the octets."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = 0
        self.tbs_hash: hashlib._Hash | None = None

    def write(self, data: bytes) -> None:
        if self.tbs_hash is not None:
            self.tbs_hash.update(data)
        self.stream.write(data)
        self.size += len(data)


def _sign(signer: Issuer, digest: bytes) -> bytes:
    """PKCS#1 v1.5 over a SHA-256 digest computed while writing."""
    assert isinstance(signer.key, rsa.RSAPrivateKey)  # noqa: S101 - checked by the caller
    return signer.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


def _crl_extensions(
    ca: CertificateAuthority, number: int, delta_base: int | None, distribution_point: str | None
) -> bytes:
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    values: list[tuple[x509.ExtensionType, bool]] = [
        (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False),
        (x509.CRLNumber(number), False),
    ]
    if delta_base is not None:
        values.append((x509.DeltaCRLIndicator(delta_base), True))
    if distribution_point is not None:
        values.append((issuing_distribution_point(distribution_point), True))
    encoded = b"".join(
        der.extension(v.oid.dotted_string, v.public_bytes(), critical=c) for v, c in values
    )
    return der.tlv(der.CONTEXT_0, der.sequence(encoded))


@contextlib.contextmanager
def _open(target: str | Path | BinaryIO) -> Iterator[tuple[BinaryIO, Path | None]]:
    if isinstance(target, str | Path):
        path = Path(target)
        with path.open("wb", buffering=1 << 20) as stream:
            yield stream, path
    else:
        yield target, None


def write_large_crl(
    ca: CertificateAuthority,
    target: str | Path | BinaryIO,
    entries: int,
    *,
    real: Iterable[RevokedLike | int] = (),
    seed: int = 0,
    number: int = 1,
    now: dt.datetime | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    delta_base: int | None = None,
    distribution_point: str | None = None,
    signer: Issuer | None = None,
) -> LargeCrl:
    """Stream a signed DER CRL of ``entries`` entries (synthetic ones plus ``real``) to ``target``.

    ``real`` entries (sandbox serials, bare or with date and reason) are spread evenly among the
    ``entries - len(real)`` synthetic ones; a bare serial is listed as keyCompromise at
    ``this_update``. ``seed`` picks the synthetic serials. The remaining keywords are those of
    :func:`sandbox.crl.make_crl`.
    """
    this_update = (this_update or now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    next_update = (next_update or this_update + dt.timedelta(days=1)).replace(microsecond=0)
    signer = signer or ca.root
    real = list(real)
    real_encoded = [
        _entry(item, this_update, x509.ReasonFlags.key_compromise)
        if isinstance(item, int)
        else _entry(item.serial, item.revoked_at, item.reason)
        for item in real
    ]
    real_serials = tuple(item if isinstance(item, int) else item.serial for item in real)
    synthetic = entries - len(real_encoded)
    if synthetic < 0:
        raise ValueError("more real serials than entries")

    if not isinstance(signer.key, rsa.RSAPrivateKey):  # its signature size is known up front
        raise TypeError("large CRLs are signed with RSA, as J-LIS's are")

    # A synthetic entry: SEQUENCE { INTEGER (16 octets), Time, Extensions { reasonCode } }.
    middle, offset = _salt(seed)
    prefix = ((_SERIAL_PREFIX << 48) | middle).to_bytes(8, "big")
    times = [der.time(moment) for moment in _time_slots(this_update)]
    reasons = [_reason_extension(reason) for reason in _REASONS]
    body = 2 + 16 + len(times[0]) + len(reasons[0])
    head = der.header(der.SEQUENCE, body) + der.header(der.INTEGER, 16)
    entry_size = der.encoded_size(body)

    revoked_length = synthetic * entry_size + sum(len(e) for e in real_encoded)
    # §5.1.2.6: with no entries, revokedCertificates is left out.
    revoked_header = der.header(der.SEQUENCE, revoked_length) if entries else b""
    algorithm = _SHA256_WITH_RSA
    fields = (
        der.integer(1)
        + algorithm
        + ca.certificate.subject.public_bytes()
        + der.time(this_update)
        + der.time(next_update)
        + revoked_header
    )
    extensions = _crl_extensions(ca, number, delta_base, distribution_point)
    tbs_length = len(fields) + revoked_length + len(extensions)
    tbs_header = der.header(der.SEQUENCE, tbs_length)
    signature_size = der.encoded_size(1 + (signer.key.key_size + 7) // 8)
    places = [(k + 1) * synthetic // (len(real_encoded) + 1) for k in range(len(real_encoded))]

    with _open(target) as (stream, path):
        sink = _Sink(stream)
        sink.write(
            der.header(der.SEQUENCE, len(tbs_header) + tbs_length + len(algorithm) + signature_size)
        )
        sink.tbs_hash = hashlib.sha256()
        sink.write(tbs_header + fields)
        start = 0
        for place, encoded in [*zip(places, real_encoded, strict=True), (synthetic, b"")]:
            while start < place:
                stop = min(place, start + CHUNK)
                lows = map(_mix, range(start + offset, stop + offset))
                sink.write(
                    b"".join(
                        head
                        + prefix
                        + low.to_bytes(8, "big")
                        + times[(low >> 4) % _TIMES]
                        + reasons[low & 15]
                        for low in lows
                    )
                )
                start = stop
            sink.write(encoded)
        sink.write(extensions)
        digest = sink.tbs_hash.digest()
        sink.tbs_hash = None
        sink.write(algorithm + der.bit_string(_sign(signer, digest)))
    return LargeCrl(
        path, entries, synthetic, real_serials, seed, number, this_update, next_update, sink.size
    )
