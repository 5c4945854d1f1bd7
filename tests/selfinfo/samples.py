"""One valid document per category, and helpers that set up accounts, consents and tokens.

Tokens are minted the way the token endpoint mints them (``at+jwt`` signed by the current key,
grant record in the ephemeral store) so the endpoint's checks can be exercised one by one; the
full authorization-code flow is in test_flow.py.
"""

from __future__ import annotations

import copy
import json
import secrets
import time

from joserfc import jwt

from idp.oidc.keys import KEY_RING
from idp.oidc.server import SERVER
from idp.services import services

SAMPLES = {
    "income": {
        "fiscal_year": 2026,
        "income_year": 2025,
        "municipality": "東京都清瀬市",
        "taxable": True,
        "income": {"total": 4_360_000, "salary": 4_360_000},
        "deductions": {"total": 1_450_000, "basic": 430_000, "social_insurance": 1_020_000},
        "taxable_income": 2_910_000,
        "dependents": {"spouse": False, "count": 0},
        "resident_tax": {"municipal": 174_600, "prefectural": 116_400, "total": 291_000},
    },
    "household": {
        "address": "東京都清瀬市中里五丁目八四二番地",
        "head_of_household": "山田　花子",
        "members": [
            {"name": "山田　花子", "relationship": "head", "birthdate": "1985-04-12",
             "is_self": True},
            {"name": "山田　陽菜", "relationship": "child", "birthdate": "2016-09-01",
             "is_self": False},
        ],
    },
    "health_insurance": {
        "system": "kyokai_kenpo",
        "insurer_name": "全国健康保険協会 東京支部",
        "insurer_number": "01130012",
        "symbol": "5010",
        "number": "1234",
        "branch": "00",
        "insured_type": "insured",
        "qualified_on": "2019-04-01",
        "lost_on": None,
        "copayment_percent": 30,
    },
    "pension": {
        "insured_category": "category_2",
        "contribution_months": {"national_pension": 36, "employees_pension": 180, "total": 216},
        "receiving": False,
        "estimated_annual_amount": 1_120_000,
        "start_age": 65,
    },
    "child_benefit": {
        "recipient": True,
        "municipality": "東京都清瀬市",
        "children": [
            {"name": "山田　陽菜", "birthdate": "2016-09-01", "birth_order": 1,
             "monthly_amount": 10_000},
        ],
        "monthly_total": 10_000,
        "payment_months": [2, 4, 6, 8, 10, 12],
    },
}  # fmt: skip


def sample(category: str) -> dict:
    return copy.deepcopy(SAMPLES[category])


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def make_account(app, account_id: str | None = None) -> str:
    from idp.storage.accounts import Account
    from idp.storage.db import db

    account_id = account_id or secrets.token_urlsafe(32)
    with app.app_context():
        db.session.add(Account(id=account_id))
        db.session.commit()
    return account_id


def store(app, account_id: str, category: str, data: dict | None = None, as_of="2026-06-01"):
    """Put one category's data in place directly, as a finished import would."""
    from idp.storage.db import db
    from idp.storage.selfinfo import SelfInformation, canonical_json, content_hash

    data = data if data is not None else sample(category)
    with app.app_context():
        db.session.add(
            SelfInformation(
                account_id=account_id,
                category=category,
                data=canonical_json(data),
                content_hash=content_hash(data, as_of),
                as_of=as_of,
            )
        )
        db.session.commit()


def make_client(app, name="Bank") -> str:
    from idp.oidc.clients import register_client

    with app.app_context():
        client, _ = register_client(name, ["https://rp.example/cb"], "client_secret_basic")
        return client.client_id


def make_consent(
    app, account_id: str, client_id: str, items, expires_in=3600, per_request=True
) -> str:
    from idp.storage.consents import Consent
    from idp.storage.db import db

    consent_id = secrets.token_urlsafe(32)
    with app.app_context():
        db.session.add(
            Consent(
                id=consent_id,
                account_id=account_id,
                client_id=client_id,
                client_name="Bank",
                items=json.dumps(sorted(items)),
                purpose="loan screening",
                per_request=per_request,
                auth_method="card-step-up",
                content_digest="0" * 64,
                expires_at=int(time.time()) + expires_in,
            )
        )
        db.session.commit()
    return consent_id


def mint_token(
    app,
    *,
    account_id: str,
    client_id: str,
    consent_id: str | None,
    scope: str,
    jkt: str | None = None,
    lifetime: int = 300,
    **claim_changes,
) -> tuple[str, str]:
    """(access token, its pairwise sub) as the token endpoint would issue them."""
    from idp.oidc import keys, sealer
    from idp.oidc.clients import find_client
    from idp.oidc.tokens import grant_record

    with app.app_context():
        shared = services(app)[SERVER].services
        sub = shared.subjects.for_client(account_id, find_client(client_id))
        now = int(time.time())
        claims = {
            "iss": shared.config.issuer,
            "aud": shared.config.issuer,
            "sub": sub,
            "client_id": client_id,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(32),
            "scope": scope,
        }
        if jkt:
            claims["cnf"] = {"jkt": jkt}
        claims.update(claim_changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        keys.ensure_keys(shared.config, sealer(), now)
        alg = shared.config.keys.default_algorithm
        key = services()[KEY_RING].signing_key(alg)
        token = jwt.encode({"alg": alg, "typ": "at+jwt", "kid": key.kid}, claims, key)
        record = {
            "client_id": client_id,
            "sub": sub,
            "scope": scope,
            "claims": {},
            "sid": None,
            "jkt": jkt,
            "account_id": account_id,
            "consent_id": consent_id,
        }
        shared.store().write(grant_record(token, record, 300))
    return token, sub
