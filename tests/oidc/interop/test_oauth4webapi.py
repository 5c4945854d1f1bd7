"""oauth4webapi, on its own (openid-client is built on it): PAR, private_key_jwt (ES256),
PKCE S256, DPoP with the nonce retry the caller does, token, userinfo, refresh, userinfo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_oauth4webapi_logs_in_refreshes_and_reads_userinfo_with_dpop(live_idp):
    if not (HERE / "node_modules" / "oauth4webapi").exists():
        pytest.fail("oauth4webapi is missing: run script/bootstrap (npm ci in tests/oidc/interop)")
    key = live_idp.client_key
    payload = {
        "issuer": live_idp.issuer,
        "client_id": live_idp.client_id,
        "redirect_uri": live_idp.redirect_uri,
        "jwk": {**key.as_dict(private=True), "kid": key.kid},
    }
    done = subprocess.run(
        [shutil.which("node"), str(HERE / "oauth4webapi_rp.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["claims"]["iss"] == live_idp.issuer
    assert result["claims"]["aud"] in (live_idp.client_id, [live_idp.client_id])
    assert result["token_type"].lower() == result["refreshed_token_type"].lower() == "dpop"
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    assert result["refreshed_userinfo"]["sub"] == result["claims"]["sub"]
    assert result["userinfo"].keys() == {"sub"}  # the login certificate has no name
