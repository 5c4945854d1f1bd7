"""The bank's own keys, generated at first start into its instance folder.

Two keys with two jobs: the client key signs ``private_key_jwt`` assertions (its public half is
the ``jwks`` registered at the IdP); the DPoP key proves possession of the access tokens (its
thumbprint is what the tokens are bound to). Both are EC P-256 (ES256). The private files are
readable by the bank's user only; nothing here ever logs them.
"""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import ECKey

CLIENT_KEY = "client-key.json"
DPOP_KEY = "dpop-key.json"
PUBLIC_JWKS = "jwks.json"


def _load_or_create(path: Path) -> ECKey:
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text()))
    key = ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, auto_kid=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(key.as_dict(private=True)))
    return key


def client_key(instance: Path) -> ECKey:
    """The private_key_jwt key; writes ``jwks.json`` (public only) next to it for registration."""
    key = _load_or_create(instance / CLIENT_KEY)
    jwks = {"keys": [key.as_dict(private=False)]}
    (instance / PUBLIC_JWKS).write_text(json.dumps(jwks, indent=2))
    return key


def dpop_key(instance: Path) -> ECKey:
    return _load_or_create(instance / DPOP_KEY)
