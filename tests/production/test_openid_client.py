"""The FAPI card login with an independent client library, node's openid-client
(tests/oidc/interop/fapi_rp.mjs): discovery, PAR, private_key_jwt, DPoP, PKCE, token, userinfo,
refresh and the end-session URL are the library's; the browser and its card step (signed in
software) are tests/production/client.py's. Through nginx over https, trusting the test CA."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.production.client import Citizen, expect
from tests.production.topology import LOGOUT_REDIRECT_URI, REDIRECT_URI, ROOT

pytestmark = pytest.mark.production
INTEROP = ROOT / "tests" / "oidc" / "interop"


def test_openid_client_logs_in_refreshes_and_logs_out(topology):
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "openid-client").is_dir():
        pytest.fail("node or tests/oidc/interop's openid-client is missing: run script/bootstrap")
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(topology.ca_file)}
    process = subprocess.Popen(
        [node, str(INTEROP / "fapi_rp.mjs")],
        cwd=INTEROP,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    job = {
        "issuer": topology.issuer,
        "client_id": topology.client_id,
        "redirect_uri": REDIRECT_URI,
        "post_logout_redirect_uri": LOGOUT_REDIRECT_URI,
        "jwk": topology.client_key.as_dict(private=True),
    }
    try:
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, process.stderr.read()
        authorization_url = json.loads(line)["authorization_url"]
        assert authorization_url.startswith(topology.issuer + "/authorize?")

        citizen = Citizen(topology, card=2)
        page = citizen.open_login(authorization_url)
        answer = citizen.card_step(*page)
        if "/consent/" in answer.headers.get("Location", ""):
            answer = citizen.consent(answer)
        expect(answer, 302, "card result / consent")
        process.stdin.write(answer.headers["Location"] + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, process.stderr.read()
        done = json.loads(line)
        assert done["token_type"].lower() == "dpop"
        assert done["claims"]["iss"] == topology.issuer
        assert done["userinfo"]["sub"] == done["claims"]["sub"]
        assert done["refreshed_userinfo"]["sub"] == done["claims"]["sub"]

        logout = citizen.get(done["end_session_url"])
        assert logout.status_code == 302, logout.text
        assert logout.headers["Location"].startswith(LOGOUT_REDIRECT_URI)
    finally:
        process.kill()
        process.wait(10)
