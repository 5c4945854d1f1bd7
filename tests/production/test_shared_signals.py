"""The Shared Signals transmitter in production: behind nginx, on two nodes sharing PostgreSQL
and Redis, with config/production.toml. The bank gets a stream-management token with its FAPI
credentials (private_key_jwt, DPoP), sets up a poll stream, asks one node for a verification
event and collects it from the other, checking the SET against the published keys."""

from __future__ import annotations

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.production.client import Bank, expect
from tests.production.topology import Topology

pytestmark = pytest.mark.production

POLL = "urn:ietf:rfc:8936"


def _call(bank: Bank, method: str, url: str, token: str, body=None) -> requests.Response:
    path = url.removeprefix(bank.topology.issuer)
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": bank.proof(method, path.split("?")[0], token),
    }
    return bank.http.request(method, bank.base + path, json=body, headers=headers, timeout=30)


def _stream(bank: Bank, token: str, endpoint: str) -> dict:
    """The client's poll stream: created, or (a rerun on the same topology) the one it has."""
    created = _call(bank, "POST", endpoint, token, {"delivery": {"method": POLL}})
    if created.status_code == 409:
        [found] = expect(_call(bank, "GET", endpoint, token), 200, "read stream").json()
        return expect(
            _call(bank, "PUT", endpoint, token, {"stream_id": found["stream_id"]}), 200, "reset"
        ).json()
    return expect(created, 201, "create stream").json()


def test_a_stream_is_verified_across_the_nodes(topology: Topology):
    bank = Bank(topology)
    metadata = expect(
        bank.http.get(topology.issuer + "/.well-known/ssf-configuration", timeout=10),
        200,
        "ssf metadata",
    ).json()
    assert metadata["issuer"] == topology.issuer
    assert metadata["configuration_endpoint"] == topology.issuer + "/ssf/stream"

    answer = expect(
        bank._post("/token", {"grant_type": "client_credentials", "scope": "ssf"}), 200, "token"
    )
    token = answer.json()["access_token"]
    assert answer.json()["token_type"] == "DPoP"  # noqa: S105 - a token type
    refused = bank.http.get(
        metadata["configuration_endpoint"], headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert refused.status_code == 401  # a DPoP-bound token without its proof

    stream = _stream(bank, token, metadata["configuration_endpoint"])
    assert stream["iss"] == topology.issuer
    assert stream["aud"] == topology.client_id
    assert stream["delivery"]["endpoint_url"].startswith(topology.issuer + "/ssf/poll/")

    first, second = (Bank(topology, base=node.url) for node in topology.nodes[:2])
    for node_bank in (first, second):
        node_bank.dpop_key, node_bank.dpop_nonce = bank.dpop_key, bank.dpop_nonce
    body = {"stream_id": stream["stream_id"], "state": "production-1"}
    expect(_call(first, "POST", metadata["verification_endpoint"], token, body), 204, "verify")
    poll = stream["delivery"]["endpoint_url"]
    sets = expect(
        _call(second, "POST", poll, token, {"returnImmediately": True}), 200, "poll"
    ).json()["sets"]
    [(jti, set_token)] = sets.items()
    keys = KeySet.import_key_set(bank.http.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(set_token, keys, algorithms=["ES256", "PS256"])
    assert decoded.header["typ"] == "secevent+jwt"
    assert decoded.claims["iss"] == topology.issuer
    assert decoded.claims["aud"] == topology.client_id
    assert decoded.claims["sub_id"] == {"format": "opaque", "id": stream["stream_id"]}
    assert decoded.claims["events"] == {
        "https://schemas.openid.net/secevent/ssf/event-type/verification": {"state": "production-1"}
    }
    acked = _call(bank, "POST", poll, token, {"ack": [jti], "returnImmediately": True})
    assert expect(acked, 200, "ack").json() == {"sets": {}, "moreAvailable": False}
