"""Building one CRL (RFC 5280 §5): the test-time factory and its helpers.

:func:`make_crl` takes any entries, number, times and signer, so a test can make a forged, expired,
wrong-issuer or older CRL (docs/contributing.md §7); :func:`reissue` copies a real CRL with one
thing changed. Import these from :mod:`sandbox.crl`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from sandbox.pki import CertificateAuthority, Issuer

FULL_VALIDITY = dt.timedelta(hours=24)
"""nextUpdate - thisUpdate of a full CRL: J-LIS's list is refreshed daily (docs/jpki.md §3)."""


@dataclass(frozen=True)
class CrlEntry:
    """One revokedCertificates entry (RFC 5280 §5.1.2.6, §5.3)."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = None
    invalidity_date: dt.datetime | None = None

    def build(self) -> x509.RevokedCertificate:
        builder = (
            x509.RevokedCertificateBuilder()
            .serial_number(self.serial)
            .revocation_date(self.revoked_at)
        )
        if self.reason is not None:
            builder = builder.add_extension(x509.CRLReason(self.reason), critical=False)
        if self.invalidity_date is not None:
            builder = builder.add_extension(
                x509.InvalidityDate(self.invalidity_date), critical=False
            )
        return builder.build()


def _url_point(url: str) -> list[x509.DistributionPoint]:
    return [x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)]


def issuing_distribution_point(url: str) -> x509.IssuingDistributionPoint:
    """IDP naming the URL the certificates' CRL distribution point names (RFC 5280 §5.2.5)."""
    return x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )


def make_crl(
    ca: CertificateAuthority,
    entries: Iterable[CrlEntry] = (),
    *,
    number: int = 1,
    now: dt.datetime | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    validity: dt.timedelta = FULL_VALIDITY,
    delta_base: int | None = None,
    signer: Issuer | None = None,
    issuer_name: x509.Name | None = None,
    distribution_point: str | None = None,
    freshest_crl: str | None = None,
    authority_key_identifier: bool = True,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    extra_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> bytes:
    """A DER CRL of ``ca``; every keyword bends one thing for a test.

    ``delta_base`` makes it a delta CRL on that base number. ``signer`` signs with another key
    (a forgery keeps ``ca``'s name and key identifier); ``issuer_name`` names another issuer.
    ``distribution_point`` adds the issuing distribution point, ``freshest_crl`` the pointer to
    a delta. ``next_update`` in the past makes an expired CRL; a lower ``number`` an older one.
    """
    this_update = this_update or now or dt.datetime.now(dt.UTC)
    next_update = next_update or this_update + validity
    signer = signer or ca.root
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_name or ca.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    if authority_key_identifier:
        ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        builder = builder.add_extension(aki, critical=False)
    if delta_base is not None:  # §5.2.4: always critical
        builder = builder.add_extension(x509.DeltaCRLIndicator(delta_base), critical=True)
    if distribution_point is not None:  # §5.2.5: always critical
        builder = builder.add_extension(
            issuing_distribution_point(distribution_point), critical=True
        )
    if freshest_crl is not None:  # §5.2.6: never critical
        builder = builder.add_extension(x509.FreshestCRL(_url_point(freshest_crl)), critical=False)
    for extension, critical in extra_extensions:
        builder = builder.add_extension(extension, critical=critical)
    for entry in entries:
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(signer.key, hash_algorithm or hashes.SHA256())  # type: ignore[arg-type]
    return crl.public_bytes(serialization.Encoding.DER)


def reissue(ca: CertificateAuthority, crl: bytes, **changes: object) -> bytes:
    """``crl`` (DER) made again with :func:`make_crl`, its entries, number, delta base and
    distribution points kept unless ``changes`` (keywords of :func:`make_crl`) says otherwise:
    a forged (``signer=``), expired, or older (``number=``) copy of a real CRL."""
    parsed = x509.load_der_x509_crl(crl)
    entries = []
    for revoked in parsed:
        try:
            reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reason = None
        entries.append(CrlEntry(revoked.serial_number, revoked.revocation_date_utc, reason))
    extensions = parsed.extensions
    options: dict[str, object] = {
        "number": extensions.get_extension_for_class(x509.CRLNumber).value.crl_number,
        "this_update": parsed.last_update_utc,
        "next_update": parsed.next_update_utc,
    }
    with contextlib.suppress(x509.ExtensionNotFound):
        indicator = extensions.get_extension_for_class(x509.DeltaCRLIndicator).value
        options["delta_base"] = indicator.crl_number
    with contextlib.suppress(x509.ExtensionNotFound):
        idp = extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        options["distribution_point"] = idp.full_name[0].value
    with contextlib.suppress(x509.ExtensionNotFound):
        freshest = extensions.get_extension_for_class(x509.FreshestCRL).value
        options["freshest_crl"] = freshest[0].full_name[0].value
    options.update(changes)
    return make_crl(ca, entries, **options)  # type: ignore[arg-type]
