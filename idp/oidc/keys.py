"""Token-signing keys: generation, rotation with overlap, JWKS (RFC 7517).

Each offered algorithm has its own ring. A key is published as ``next`` before it ever signs, signs
while ``current``, and stays published as ``retired`` until every token it signed has expired.
So a relying party that refreshes JWKS at most every ``min_publish_seconds`` never meets an unknown
``kid``. Private parts are sealed at rest (``sealing``). Time is a parameter (``now``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..config import Config
from ..services import Service
from ..storage.db import db
from ..storage.models import SigningKey
from .sealing import Sealer, SealError

RETIRE_LEEWAY = 60
"""Seconds a retired key outlives its last token, for clock skew between IdP and RP."""


class RotationRefused(RuntimeError):
    """Rotating now would let a key sign before relying parties could have fetched it."""


def generate(alg: str) -> RSAKey | ECKey:
    """A fresh private key for ``alg``, its ``kid`` the RFC 7638 thumbprint."""
    params = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        key = ECKey.generate_key("P-256", params)
    else:
        key = RSAKey.generate_key(2048, params)
    key.ensure_kid()
    return key


def _add(alg: str, state: str, sealer: Sealer, now: int) -> SigningKey:
    key = generate(alg)
    row = SigningKey(
        kid=key.kid,
        alg=alg,
        state=state,
        public_jwk=json.dumps(key.as_dict(private=False)),
        sealed_private_key=sealer.seal(key.as_pem(private=True), key.kid),
        created_at=now,
        activated_at=now if state == "current" else None,
    )
    db.session.add(row)
    return row


def ensure_keys(config: Config, sealer: Sealer, now: int) -> None:
    """Give every offered algorithm a current and a next key (first start, new algorithm).

    When several processes start together, the unique indexes let one of them win; the others
    roll back and use its keys.
    """
    rows = SigningKey.query.all()
    for alg in config.keys.algorithms:
        states = {r.state for r in rows if r.alg == alg}
        if "current" not in states:
            _add(alg, "current", sealer, now)
        if "next" not in states:
            _add(alg, "next", sealer, now)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


class SecretMismatch(RuntimeError):
    """The configured secret cannot open the stored signing keys: serving would fail later."""


def check_secret(sealer: Sealer) -> None:
    """Refuse a secret that cannot unseal the current and next signing keys, before serving:
    otherwise the process starts healthy and every /jwks and /token answers 500."""
    for row in SigningKey.query.filter(SigningKey.state.in_(("current", "next"))):
        try:
            sealer.open(row.sealed_private_key, row.kid)
        except SealError:
            raise SecretMismatch(
                f"IDP_SECRET_KEY (secret_key) cannot unseal the stored signing key {row.kid} "
                f"({row.alg}, {row.state}): it is not the secret these keys were sealed with. "
                "Configure the deployment's original secret (docs/operators.md §2)."
            ) from None


def rotate(config: Config, sealer: Sealer, now: int, force: bool = False) -> list[SigningKey]:
    """Promote each next key, retire each current one, publish new next keys; return the ring."""
    ensure_keys(config, sealer, now)
    rows = SigningKey.query.all()
    wait = config.keys.min_publish_seconds
    young = [r.kid for r in rows if r.state == "next" and now - r.created_at < wait]
    if young and not force:
        raise RotationRefused(
            f"next key(s) {', '.join(young)} published less than "
            f"{wait}s ago; relying parties may not know them yet"
        )
    lifetime = max(config.tokens.id_token, config.tokens.access_token) + RETIRE_LEEWAY
    # Three flushes in this order, so the one-current/one-next indexes hold at every statement.
    for row in rows:
        if row.state == "current":
            row.state, row.retire_at = "retired", now + lifetime
        elif row.state == "retired" and row.retire_at is not None and row.retire_at <= now:
            db.session.delete(row)
    db.session.flush()
    for row in rows:
        if row.state == "next":
            row.state, row.activated_at = "current", now
    db.session.flush()
    for alg in config.keys.algorithms:
        _add(alg, "next", sealer, now)
    db.session.commit()
    for row in rows:
        if row.state == "current":
            audit.emit(audit.KEY_ROTATED, kid=row.kid, alg=row.alg)
    return SigningKey.query.order_by(SigningKey.alg, SigningKey.created_at).all()


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float
    jwks: dict
    signing: dict[str, RSAKey | ECKey]
    public: KeySet
    """``jwks`` imported, for verifying our own tokens without importing them per request."""


class KeyRing:
    """This process's view of the keys: JWKS and the current private key per algorithm.

    Cached for ``keys.reload_seconds`` so signing costs no database round trip or decryption per
    token (the login's CPU budget, bench/results/flow.md), yet a rotation done elsewhere reaches
    every process.
    """

    def __init__(self, config: Config, sealer: Sealer) -> None:
        self._config = config
        self._sealer = sealer
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def _load(self, now: float) -> _Snapshot:
        rows = SigningKey.query.filter_by(state="current").all()
        if {r.alg for r in rows} < set(self._config.keys.algorithms):
            ensure_keys(self._config, self._sealer, int(now))  # zero configuration: generate
        published, signing = [], {}
        for row in SigningKey.query.order_by(SigningKey.created_at).all():
            if row.state == "retired" and row.retire_at is not None and row.retire_at <= now:
                continue
            published.append(json.loads(row.public_jwk))
            if row.state == "current":
                pem = self._sealer.open(row.sealed_private_key, row.kid)
                cls = ECKey if row.alg == "ES256" else RSAKey
                params = {"alg": row.alg, "kid": row.kid, "use": "sig"}
                signing[row.alg] = cls.import_key(pem, params)
        jwks = {"keys": published}
        return _Snapshot(now, jwks, signing, KeySet.import_key_set(jwks))

    def _stale(self, snap: _Snapshot | None, now: float) -> bool:
        return snap is None or now - snap.loaded_at >= self._config.keys.reload_seconds

    def _current(self) -> _Snapshot:
        """The snapshot, reloaded once when stale: the threads that found it stale together
        wait for the first one's load (unsealing and importing the keys, tens of ms of CPU)
        instead of each loading it again."""
        now = time.time()
        snap = self._snapshot
        if self._stale(snap, now):
            with self._lock:
                snap = self._snapshot
                if self._stale(snap, now):
                    snap = self._snapshot = self._load(now)
        return snap

    def jwks(self) -> dict:
        """The public JWK Set: next, current and not yet expired retired keys."""
        return self._current().jwks

    def public_keys(self) -> KeySet:
        """The same keys as ``jwks``, imported: what our own tokens are verified with."""
        return self._current().public

    def signing_key(self, alg: str | None = None) -> RSAKey | ECKey:
        """The current private key for ``alg`` (default algorithm when None)."""
        alg = alg or self._config.keys.default_algorithm
        key = self._current().signing.get(alg)
        if key is None:
            raise LookupError(f"no current signing key for {alg}; run `idp keys rotate`")
        return key

    def forget(self) -> None:
        """Drop the cache (after a rotation in this process)."""
        self._snapshot = None


KEY_RING: Service[KeyRing] = Service("key ring")
"""The app's signing keys as this process sees them (``idp.oidc``)."""
