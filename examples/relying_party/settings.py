"""The sample bank's settings: where the IdP is, where the bank is, where it keeps its files."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ISSUER = "http://127.0.0.1:8000"
DEFAULT_BASE_URL = "http://127.0.0.1:8001"
DEFAULT_INSTANCE = Path(__file__).resolve().parents[2] / "instance" / "relying_party"
NAME = "サンプル銀行 / Sample Bank"
PURPOSE = "住宅ローンの審査 / mortgage screening"
RETENTION_DAYS = 2557
"""About seven years: how long a bank keeps identity-verification records (犯収法 §6, §7)."""
TRUST_FRAMEWORK = "jp_aml"
SIGNING_ALG = "ES256"
"""The algorithm the bank registers for its ID tokens (and so its access and logout tokens):
FAPI 2.0 §5.4 allows PS256 or ES256, not RS256; it accepts no other."""


@dataclass(frozen=True)
class BankSettings:
    """Everything the bank needs; the defaults are the demo's (script/demo)."""

    issuer: str = DEFAULT_ISSUER
    base_url: str = DEFAULT_BASE_URL
    instance: Path = DEFAULT_INSTANCE
    client_id: str = ""
    """Empty: read from ``client.json`` in the instance folder (written by ``register``)."""
    trust_roots: tuple[Path, ...] = ()
    """The roots a signed contract must chain to (the JPKI signing CA's, and the time-stamping
    authority's); empty: the instance folder's ``trust/*.pem``."""

    @classmethod
    def from_environment(cls, **overrides) -> BankSettings:
        """BANK_ISSUER, BANK_BASE_URL, BANK_INSTANCE and BANK_TRUST_ROOTS (files separated by
        ``os.pathsep``) override the demo's defaults."""
        values = {
            "issuer": os.environ.get("BANK_ISSUER", DEFAULT_ISSUER),
            "base_url": os.environ.get("BANK_BASE_URL", DEFAULT_BASE_URL),
            "instance": Path(os.environ.get("BANK_INSTANCE", DEFAULT_INSTANCE)),
            "trust_roots": tuple(
                Path(p) for p in os.environ.get("BANK_TRUST_ROOTS", "").split(os.pathsep) if p
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    @property
    def redirect_uri(self) -> str:
        return self.url("/callback")

    @property
    def contract_return_uri(self) -> str:
        """Where the IdP returns the browser after the contract is signed or declined."""
        return self.url("/contract/signed")

    @property
    def backchannel_logout_uri(self) -> str:
        return self.url("/backchannel-logout")

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.url("/logged-out")

    @property
    def client_file(self) -> Path:
        return self.instance / "client.json"

    def registered_client_id(self) -> str:
        """The client id given, else the one ``register`` saved; empty when not registered."""
        if self.client_id:
            return self.client_id
        try:
            return json.loads(self.client_file.read_text())["client_id"]
        except (OSError, ValueError, KeyError):
            return ""

    def secret_key(self) -> str:
        """The session-cookie key, made once and kept in the instance folder."""
        path = self.instance / "secret_key"
        if not path.exists():
            self.instance.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def root_files(self) -> tuple[Path, ...]:
        """The trusted roots' files: those given, else the instance folder's ``trust/*.pem``."""
        return self.trust_roots or tuple(sorted((self.instance / "trust").glob("*.pem")))
