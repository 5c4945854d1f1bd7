"""Two IdP processes sharing PostgreSQL and Redis (docs/architecture.md §4).

A flow that starts on one process finishes on the other; a key rotated by a third (the CLI) is
served by both. Real processes (``tests.cardless_wsgi``: the production app with the cardless
login of ``tests.cardless``), a real database and a real Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

from tests.oidc.live import free_port
from tests.oidc.rp import pkce_pair, query

IDP = str(Path(sys.executable).with_name("idp"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(postgres_url, redis_url, tmp_path):
    """(environment, base URLs of two cardless IdP processes) on one database and one Redis."""
    ports = [free_port(), free_port()]
    prefix = f"test2p:{secrets.token_hex(4)}:"
    config = tmp_path / "idp.toml"
    config.write_text(
        f'environment = "testing"\nissuer = "http://127.0.0.1:{ports[0]}"\nprocesses = 2\n'
        f'[ephemeral]\nkey_prefix = "{prefix}"\n'
        "[keys]\nreload_seconds = 0\nmin_publish_seconds = 0\n"
    )
    env = {
        **os.environ,
        "IDP_CONFIG": str(config),
        "IDP_DATABASE_URL": postgres_url,
        "IDP_REDIS_URL": redis_url,
        "IDP_SECRET_KEY": "two-process-secret-" + "x" * 20,
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([IDP, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.cardless_wsgi", str(p)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        _wait_until_serving(urls)
        yield env, urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        subprocess.run([IDP, "db", "downgrade", "base"], env=env, capture_output=True, timeout=60)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def _wait_until_serving(urls: list[str]) -> None:
    deadline = time.monotonic() + 30
    for url in urls:
        while True:
            try:
                if requests.get(url + "/jwks", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not start")
            time.sleep(0.2)


def _idp(env, *args) -> str:
    return subprocess.run(
        [IDP, *args], env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout


def test_flow_started_on_one_process_finishes_on_the_other(cluster):
    env, (first, second) = cluster
    client = json.loads(
        _idp(
            env,
            "client",
            "add",
            "--name",
            "Bank",
            "--redirect-uri",
            "https://bank.example/cb",
            "--auth-method",
            "client_secret_basic",
        )
    )
    auth = (client["client_id"], client["client_secret"])
    verifier, challenge = pkce_pair()
    pushed = requests.post(
        first + "/par",
        auth=auth,
        timeout=10,
        data={
            "response_type": "code",
            "redirect_uri": "https://bank.example/cb",
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    answer = requests.get(
        second + "/authorize",
        allow_redirects=False,
        timeout=10,
        params={"client_id": client["client_id"], "request_uri": pushed.json()["request_uri"]},
    )
    code = query(answer.headers["Location"])["code"]
    token = requests.post(
        first + "/token",
        auth=auth,
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "https://bank.example/cb",
        },
    )
    assert token.status_code == 200, token.text
    bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
    assert requests.get(second + "/userinfo", headers=bearer, timeout=10).status_code == 200
    replay = requests.post(
        second + "/token",
        auth=auth,
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "https://bank.example/cb",
        },
    )
    assert replay.json()["error"] == "invalid_grant"


def test_key_rotated_by_the_cli_is_served_by_both_processes(cluster):
    env, urls = cluster
    rotated = [json.loads(line) for line in _idp(env, "keys", "rotate", "--force").splitlines()]
    new_next = {k["kid"] for k in rotated if k["state"] == "next"}
    for url in urls:
        served = {k["kid"] for k in requests.get(url + "/jwks", timeout=10).json()["keys"]}
        assert new_next <= served, url
