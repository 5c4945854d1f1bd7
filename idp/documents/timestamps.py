"""The time-stamping authority (RFC 3161) behind PAdES B-T and B-LTA: asked, then checked.

pyHanko asks the TSA (``RequestsHTTPTimeStamper``) and checks only the nonce; everything it
stamps here goes through :class:`CheckedTimeStamper`, which also refuses a token whose message
imprint is not the digest we sent, or whose signer does not chain to the configured TSA roots
with the timeStamping usage (RFC 3161 §2.3). A token that fails is never embedded: the signature
stays unfinished (fail closed) rather than carrying a timestamp nobody can rely on.
"""

from __future__ import annotations

from pathlib import Path

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

TIMEOUT = 10.0
"""Seconds the IdP waits for the TSA, while the citizen waits for the signed document."""


class TimestampUnavailable(Exception):
    """No timestamp we can rely on now. ``reason``: ``tsa_unavailable`` (unreachable, refused,
    unreadable), ``tsa_wrong_digest`` (a token for something else) or ``tsa_untrusted``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def load_roots(path: str | Path) -> list[asn1_x509.Certificate]:
    """The TSA roots: a PEM file, or a folder of them (``*.pem``)."""
    path = Path(path)
    files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
    roots = []
    for file in files:
        for _, _, der in pem.unarmor(file.read_bytes(), multiple=True):
            roots.append(asn1_x509.Certificate.load(der))
    if not roots:
        raise ValueError(f"no certificate in {path}")
    return roots


class CheckedTimeStamper(RequestsHTTPTimeStamper):
    """pyHanko's HTTP time-stamper whose every token is checked before anyone embeds it."""

    def __init__(self, url: str, roots: list[asn1_x509.Certificate], timeout: float = TIMEOUT):
        super().__init__(url, timeout=timeout)
        self.roots = roots

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            token = await super().async_timestamp(message_digest, md_algorithm)
        except (TimestampRequestError, OSError) as error:
            raise TimestampUnavailable("tsa_unavailable", str(error)) from None
        except (ValueError, TypeError, KeyError) as error:
            raise TimestampUnavailable("tsa_unavailable", f"unreadable answer: {error}") from None
        await check_token(token, message_digest, md_algorithm, self.roots)
        return token


async def check_token(
    token: cms.ContentInfo, digest: bytes, md_algorithm: str, roots: list[asn1_x509.Certificate]
) -> None:
    """Raise ``TimestampUnavailable`` unless ``token`` stamps ``digest`` and is signed by a TSA
    certificate under ``roots``. The TSA certificate's revocation is not asked here (B-LT puts
    it in the document); its chain, validity now and timeStamping usage are."""
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        signed_data = token["content"]
        kwargs = await validate_tst_signed_data(
            signed_data, context, lambda algorithm: digest if algorithm == md_algorithm else b""
        )
        status = TimestampSignatureStatus(**kwargs)
    except (ValueError, TypeError, KeyError) as error:
        raise TimestampUnavailable("tsa_unavailable", f"unreadable token: {error}") from None
    if not status.intact:
        raise TimestampUnavailable("tsa_wrong_digest", "the token stamps another digest")
    if not (status.valid and status.trusted):
        raise TimestampUnavailable("tsa_untrusted", "the token's signer is not a trusted TSA")
