"""Requests and a verified identity for the verified-claims suites."""

from __future__ import annotations

import json

from idp.consent.decisions import VerifiedIdentity

IDENTITY = VerifiedIdentity(
    name="山田\u3000花子",
    address="東京都千代田区霞が関二丁目1番2号",
    birthdate="1985-04-01",
    gender="female",
    issuer="CN=JPKI for digital signature,C=JP",
    serial="0A1B2C",
    signed_at=1_795_000_000,
)
"""What the consent screen builds from a validated signing certificate."""
EVERY_ITEM = ("verified:name", "verified:address", "verified:birthdate", "verified:gender")


def verified(claims: dict, trust_framework=None, **verification) -> dict:
    """One ``verified_claims`` request object."""
    return {
        "verification": {"trust_framework": trust_framework, **verification},
        "claims": claims,
    }


def where(id_token=None, userinfo=None) -> dict:
    """A parsed ``claims`` parameter with ``verified_claims`` where given."""
    out: dict = {}
    if id_token is not None:
        out["id_token"] = {"verified_claims": id_token}
    if userinfo is not None:
        out["userinfo"] = {"verified_claims": userinfo}
    return out


def claims_param(**locations) -> str:
    return json.dumps(where(**locations), ensure_ascii=False)
