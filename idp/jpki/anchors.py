"""Trust anchors: the J-LIS roots an operator installed, one folder of PEM files per type.

docs/jpki.md §4: pick the issuer by DN, then by signature; several generations share one DN and may
be active at once (key rollover). A CA certificate read from the card is never an anchor: only
these folders are. Test roots (``O=JPKI-TEST``) load only where settings allow them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from idp.jpki.certificate import PARSE_ERRORS, fingerprint
from idp.jpki.settings import CertificateType, JpkiSettings

TEST_ORGANIZATION = "JPKI-TEST"
JLIS_ROOT_FINGERPRINTS = frozenset(
    {
        "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355",  # signca01
        "79679C33E4CC9319440F1AD120A597FF1844E2EF217063ADB176966FD5E6FBEB",  # signca02
        "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F",  # signca03
        "4DCFC4CA0AAF9FB2A3081B3F0C991C320B3ACC008667A341EEAEC5AF1D58CA7D",  # authca01
        "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5",  # authca03
    }
)
"""docs/jpki.md §4. authca02's fingerprint is unconfirmed there: an operator adds it after checking
it against J-LIS's published value."""


class TrustAnchorError(Exception):
    """The configured anchors cannot be used; the IdP must refuse to start."""


@dataclass(frozen=True)
class TrustAnchors:
    """The roots accepted per certificate type."""

    roots: dict[CertificateType, tuple[x509.Certificate, ...]]

    def for_type(self, kind: CertificateType) -> tuple[x509.Certificate, ...]:
        return self.roots.get(kind, ())

    @classmethod
    def from_settings(cls, settings: JpkiSettings) -> TrustAnchors:
        roots = {
            kind: load_folder(folder, allow_test_roots=settings.allow_test_roots)
            for kind, folder in settings.trust_anchors.items()
        }
        pinned = {value.upper().replace(":", "") for value in settings.pinned_fingerprints}
        for certificates in roots.values():
            for root in certificates:
                if pinned and fingerprint(root) not in pinned:
                    raise TrustAnchorError(f"anchor {fingerprint(root)} is not a pinned root")
        return cls({CertificateType(kind): certs for kind, certs in roots.items()})


def load_folder(folder: Path, *, allow_test_roots: bool) -> tuple[x509.Certificate, ...]:
    """Every certificate in ``folder/*.pem``, each checked by :func:`check_anchor`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrustAnchorError(f"trust anchor folder {folder} does not exist")
    roots = tuple(_read_all(sorted(folder.glob("*.pem"))))
    if not roots:
        raise TrustAnchorError(f"no PEM certificates in {folder}")
    for root in roots:
        check_anchor(root, allow_test_roots=allow_test_roots)
    return roots


def _read_all(paths: Iterable[Path]) -> Iterable[x509.Certificate]:
    for path in paths:
        try:
            yield from x509.load_pem_x509_certificates(path.read_bytes())
        except PARSE_ERRORS as error:
            raise TrustAnchorError(f"{path}: not PEM certificates ({error})") from None


def check_anchor(root: x509.Certificate, *, allow_test_roots: bool) -> None:
    """A self-signed CA root; a test root only when allowed (docs/jpki.md §7)."""
    label = f"anchor {fingerprint(root)[:16]}"
    if is_test_root(root) and not allow_test_roots:
        raise TrustAnchorError(f"{label} is a JPKI-TEST root, refused by this configuration")
    if root.subject != root.issuer:
        raise TrustAnchorError(f"{label} is not self-signed")
    try:
        root.verify_directly_issued_by(root)
        constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (InvalidSignature, x509.ExtensionNotFound, *PARSE_ERRORS) as error:
        raise TrustAnchorError(f"{label} is not a valid self-signed CA: {error}") from None
    if not constraints.ca:
        raise TrustAnchorError(f"{label} is not a CA")


def is_test_root(root: x509.Certificate) -> bool:
    organizations = root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(attribute.value == TEST_ORGANIZATION for attribute in organizations)


def non_test_roots(folder: Path) -> list[x509.Certificate]:
    """The certificates in ``folder/*.pem`` that are not test roots: what a development or
    testing IdP must not trust. A missing folder or unreadable file is left to ``load_folder``,
    which refuses it when the anchors are used."""
    found: list[x509.Certificate] = []
    paths = sorted(Path(folder).glob("*.pem")) if Path(folder).is_dir() else []
    for path in paths:
        try:
            found += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, *PARSE_ERRORS):
            continue
    return [root for root in found if not is_test_root(root)]
