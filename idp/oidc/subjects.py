"""Subject identifiers (OIDC Core §8): pairwise per sector by default, public by choice.

A pairwise ``sub`` is HMAC-SHA256 over the sector and the internal account id, keyed by a key
derived from the configured secret: stable for one relying party's sector, uncorrelatable across
sectors, and carrying no personal data (the account id itself is an opaque internal value).
A public ``sub`` is the same HMAC over a fixed sector: even "public" never shows the account id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from .sealing import derive_key

PUBLIC_SECTOR = "public"


class SubjectMapper:
    """Maps (account, client) to the ``sub`` that client sees."""

    def __init__(self, secret: str) -> None:
        self._key = derive_key(secret, b"pairwise-subject")

    def subject(self, account_id: str, sector: str) -> str:
        mac = hmac.new(self._key, f"{sector}\x00{account_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def for_client(self, account_id: str, client) -> str:
        """``client`` is a ``Client``; its subject_type chooses pairwise or public."""
        sector = client.sector_identifier if client.subject_type == "pairwise" else PUBLIC_SECTOR
        return self.subject(account_id, sector)
