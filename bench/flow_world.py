"""The login benchmark's world: sandbox cards, an OCSP responder, an IdP database and its client.

``World.build`` makes everything a measured login needs before the clock starts: a sandbox
(CAs, ``cards`` issued cards, the live OCSP responder of ``sandbox.server``), the IdP's
configuration file (trusting the sandbox roots, revocation by OCSP), its schema and signing keys,
one relying party (private_key_jwt with an ES256 key, PAR and DPoP required), and for every card
its account and a remembered consent for ``openid``. Pre-creating the consents is honest: the
flow measured is the remembered-consent one; the first login of a new account would show the
consent screen instead (``idp/consent``), which is not the hot path.

The databases are throwaway: a SQLite file in the work folder, or a fresh PostgreSQL database
made through the test role (as ``tests/conftest.py`` does) and dropped by ``close``; Redis keys
live under a random prefix and are deleted by ``close``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[1]
IDP = str(Path(sys.executable).with_name("idp"))
POSTGRES_URL = os.environ.get(
    "IDP_TEST_POSTGRES_URL", "postgresql://jpki_idp_test:jpki_idp_test@127.0.0.1:5432/jpki_idp_test"
)
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIRECT_URI = "https://rp.bench.example/cb"
PURPOSE = "Log in to the benchmark service"
CLIENT_ALG = "ES256"
"""The client's ID token and access token algorithm: FAPI 2.0 §5.4 forbids RS256 for it."""


@dataclass
class BenchCard:
    """One citizen's card: the authentication certificate (DER), its key, the sandbox card id."""

    card_id: str
    certificate_der: bytes
    key: rsa.RSAPrivateKey
    pin: str = "1234"


@dataclass
class World:
    work: Path
    issuer: str
    port: int
    env: dict[str, str]
    client_id: str
    client_key: ec.EllipticCurvePrivateKey
    client_kid: str
    cards: list[BenchCard]
    state: object
    database: str
    _cleanups: list = field(default_factory=list)

    @classmethod
    def build(cls, work: Path, *, database: str, workers: int, cards: int, port: int) -> World:
        from sandbox.citizens import SAMPLE_CITIZENS
        from sandbox.server import free_port, running_server
        from sandbox.state import SandboxState

        cleanups: list = []
        state = SandboxState.init(work / "sandbox", f"http://127.0.0.1:{free_port()}")
        ids = [
            state.issue_card(SAMPLE_CITIZENS[i % len(SAMPLE_CITIZENS)], "1234", "ABC123").id
            for i in range(cards)
        ]
        server = running_server(state, port=None)
        server.__enter__()
        cleanups.append(lambda: server.__exit__(None, None, None))
        url, drop_db = _database(work, database)
        cleanups.append(drop_db)
        prefix = f"bench:{secrets.token_hex(4)}:"
        if database == "postgresql":
            cleanups.append(lambda: _forget_redis(prefix))
        issuer = f"http://127.0.0.1:{port}"
        config = work / "idp.toml"
        config.write_text(_config_toml(state, work, issuer, workers, prefix))
        env = {
            **os.environ,
            "IDP_CONFIG": str(config),
            "IDP_DATABASE_URL": url,
            "IDP_SECRET_KEY": "bench-secret-" + secrets.token_urlsafe(32),
        }
        if database == "postgresql":
            env["IDP_REDIS_URL"] = REDIS_URL
        world = cls(
            work,
            issuer,
            port,
            env,
            "",
            ec.generate_private_key(ec.SECP256R1()),
            "bench-" + secrets.token_hex(4),
            [],
            state,
            database,
            cleanups,
        )
        try:
            world._prepare(ids)
        except BaseException:
            world.close()
            raise
        return world

    def _prepare(self, card_ids: list[str]) -> None:
        """Schema, keys, the client, and an account with a remembered consent per card."""
        from sandbox.profiles import CertKind

        upgrade = [IDP, "db", "upgrade"]
        subprocess.run(upgrade, env=self.env, check=True, capture_output=True)  # noqa: S603 - ours
        app = _app(self.env)
        with app.app_context():
            from idp.oidc import keys, sealer
            from idp.services import services
            from idp.storage.db import db

            keys.ensure_keys(services(app).config, sealer(), int(time.time()))
            self.client_id = _register_client(self.client_key, self.client_kid)
            for card_id in card_ids:
                certificate = self.state.certificate(card_id, CertKind.AUTH)
                key = self.state.private_key(card_id, CertKind.AUTH)
                _remember_consent(certificate, self.client_id)
                from cryptography.hazmat.primitives.serialization import Encoding

                self.cards.append(BenchCard(card_id, certificate.public_bytes(Encoding.DER), key))
            db.session.remove()
            db.engine.dispose()

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        self._cleanups.clear()


def _config_toml(state, work: Path, issuer: str, workers: int, prefix: str) -> str:
    """The IdP's file; the database URL, Redis URL and secret come as IDP_* variables."""
    from sandbox.profiles import CertKind

    return f"""
environment = "development"
issuer = "{issuer}"
processes = {workers}
[ephemeral]
key_prefix = "{prefix}"
[keys]
min_publish_seconds = 0
reload_seconds = 30
[jpki]
allow_test_roots = true
crl_index_dir = "{work / "crl-index"}"
ocsp_timeout = 3.0
[jpki.trust_anchors]
auth = "{state.trust_dir(CertKind.AUTH)}"
sign = "{state.trust_dir(CertKind.SIGN)}"
[jpki.revocation]
auth = "ocsp"
sign = "ocsp"
"""


def _database(work: Path, kind: str) -> tuple[str, object]:
    """(SQLAlchemy URL, cleanup) of a fresh database of ``kind``."""
    if kind == "sqlite":
        return f"sqlite:///{work / 'idp.sqlite3'}", lambda: None
    import psycopg

    name = "idp_bench_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")

    def drop(tries: int = 20) -> None:
        """FORCE ends our connections, not an autovacuum worker on the database: wait it out."""
        for attempt in range(tries):
            try:
                with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                return
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                if attempt == tries - 1:
                    raise
                time.sleep(0.5)

    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def _forget_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(prefix + "*", count=1000):
        client.delete(key)


def _app(env: dict[str, str]):
    from idp import create_app
    from idp.config import load_config

    return create_app(load_config(env), instance_path=str(Path(env["IDP_CONFIG"]).parent / "i"))


def public_jwk(key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> dict:
    from bench.flow_jose import ec_public_jwk

    jwk = ec_public_jwk(key)
    return {**jwk, "kid": kid, "use": "sig", "alg": "ES256"} if kid else jwk


def _register_client(key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    from idp.oidc.clients import register_client

    client, _ = register_client(
        "Benchmark service",
        [REDIRECT_URI],
        "private_key_jwt",
        jwks={"keys": [public_jwk(key, kid)]},
        require_par=True,
        require_dpop=True,
        purpose=PURPOSE,
        id_token_signed_response_alg=CLIENT_ALG,
    )
    return client.client_id


def _remember_consent(certificate, client_id: str) -> None:
    """The account this card logs in to, and its live consent to ``openid`` for the client:
    what the first login's consent screen would have written."""
    import datetime as dt

    from idp.consent.consenting import REMEMBER_SECONDS
    from idp.consent.decisions import OPENID, ConsentItem, ConsentRequest, content_digest
    from idp.login.accounts import account_for
    from idp.storage.consents import Consent
    from idp.storage.db import db

    now = dt.datetime.now(dt.UTC)
    account = account_for(SimpleNamespace(certificate=certificate), now)
    expires = int(now.timestamp()) + REMEMBER_SECONDS
    request = ConsentRequest(
        id=secrets.token_urlsafe(32),
        account_id=account,
        client_id=client_id,
        client_name="Benchmark service",
        purpose=PURPOSE,
        retention_days=None,
        items=(ConsentItem(OPENID, required=True),),
        expires_at=expires,
    )
    db.session.add(
        Consent(
            id=secrets.token_urlsafe(32),
            account_id=account,
            client_id=client_id,
            client_name=request.client_name,
            items=json.dumps([OPENID]),
            purpose=PURPOSE,
            retention_days=None,
            per_request=False,
            auth_method="session",
            content_digest=content_digest(request, [OPENID]),
            created_at=int(now.timestamp()),
            expires_at=expires,
        )
    )
    db.session.commit()
