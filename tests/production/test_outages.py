"""PostgreSQL or Redis out of reach in production (operators.md §4, "When PostgreSQL or Redis is
down"): through nginx over https and at each gunicorn node, 503 with ``Retry-After``, OAuth's
``temporarily_unavailable`` for programs and a page in Japanese and English for people, one JSON
log line per such request and no traceback; once the store is back, the same requests succeed
on the same node processes (the same authorization code, the same request_uri: the /authorize that
failed held it and put it back).

The nodes reach each store through a ``Proxy`` (tests/tcp_proxy.py) that the test cuts, as when
the store's host goes away; it is mended in a ``finally``, so the topology the other tests share
is whole again whatever happens here, and nothing here depends on what ran before.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.production.client import Bank, Citizen, query
from tests.production.topology import REDIRECT_URI, Node, Topology

pytestmark = pytest.mark.production

JAPANESE = "一時的にご利用いただけません"
ENGLISH = "This service is briefly unavailable"
LOUD = {"WARNING", "ERROR", "CRITICAL"}


def _retry_after(topology: Topology) -> str:
    config = tomllib.loads((topology.folder / "idp.toml").read_text())
    return str(config["timeouts"]["retry_after"])


def _guarded(response: requests.Response, retry_after: str) -> None:
    """What every such 503 carries, page or JSON."""
    where = f"{response.request.method} {urlsplit(response.url).path}"
    assert response.status_code == 503, (where, response.status_code, response.text[:500])
    assert response.headers["Retry-After"] == retry_after, where
    assert "no-store" in response.headers["Cache-Control"], where
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], where


def for_a_program(response: requests.Response, retry_after: str) -> None:
    _guarded(response, retry_after)
    assert response.json()["error"] == "temporarily_unavailable"


def for_a_person(response: requests.Response, retry_after: str, words: str) -> None:
    _guarded(response, retry_after)
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'data-status="503"' in response.text
    assert words in response.text


def _log(node: Node) -> Path:
    return node.folder / f"{node.name}.log"


def _lines_after(topology: Topology, ends: dict[str, int]) -> dict[str, list[dict]]:
    """Each node's log lines written since ``ends`` (byte offsets), each one JSON object."""
    lines = {}
    for node in topology.nodes:
        with _log(node).open("rb") as log:
            log.seek(ends[node.name])
            lines[node.name] = [json.loads(line) for line in log.read().decode().splitlines()]
    return lines


def _route(response: requests.Response) -> str:
    return urlsplit(response.url).path


@pytest.mark.parametrize("store", ["redis", "database"])
def test_a_store_out_of_reach_is_503_on_each_node_then_the_same_requests_succeed(topology, store):
    proxy = topology.redis_proxy if store == "redis" else topology.database_proxy
    retry_after = _retry_after(topology)
    # Card 2: test_openid_client takes its consent screen or not; test_topology's flows on card 0
    # and test_chromium's on card 1 expect their first consent.
    bank, citizen = Bank(topology), Citizen(topology, card=2)
    # Made while everything is up: a code for the token request, and a pushed request for each
    # of the signed-in citizen's two pages (each request_uri is single use).
    request_uri, pending = bank.push()
    code = citizen.finish_login(*citizen.open_login(bank.authorization_url(request_uri)), pending)
    pushed = {words: bank.push() for words in (JAPANESE, ENGLISH)}
    pages = {words: bank.authorization_url(uri) for words, (uri, _) in pushed.items()}
    pages[ENGLISH] += "&lang=en"
    at_nodes = {}
    for node in topology.nodes:
        at_nodes[node.name] = Bank(topology, base=node.url)
        at_nodes[node.name].dpop_key = bank.dpop_key
        at_nodes[node.name].dpop_nonce = bank.dpop_nonce
    processes = {node.name: node.process.pid for node in topology.nodes if node.process}
    assert len(processes) == 2, "a node is down before the test"
    ends = {node.name: _log(node).stat().st_size for node in topology.nodes}

    proxy.cut()
    try:
        programs = [bank.redeem(code, pending)]
        programs += [at_nodes[node.name].redeem(code, pending) for node in topology.nodes]
        if store == "redis":  # PAR needs no PostgreSQL: clients are held in memory (10 s)
            programs += [bank.par()[0]]
            programs += [at_nodes[node.name].par()[0] for node in topology.nodes]
        people = {words: citizen.get(page) for words, page in pages.items()}
        for response in programs:
            for_a_program(response, retry_after)
        for words, response in people.items():
            for_a_person(response, retry_after, words)
        answers = {
            response.headers["X-Request-ID"]: f"{response.request.method} {_route(response)}"
            for response in [*programs, *people.values()]
        }
        assert len(answers) == len(programs) + len(people), "a request id was given twice"
        lines = _lines_after(topology, ends)
    finally:
        proxy.mend()

    for name, written in lines.items():
        assert not [line for line in written if "exc" in line or "Traceback" in line["message"]]
        loud = [line for line in written if line["level"] in LOUD]
        assert loud, f"{name} logged nothing for the requests it answered 503"
        for line in loud:
            assert line["logger"] == "idp.unavailable", line
            route = answers.get(line.get("request_id"))
            assert route, f"{name} logged a line for no request answered 503: {line}"
            assert line["message"].startswith(f"{store} unavailable: {route}: "), line
    counted = Counter(
        line.get("request_id")
        for written in lines.values()
        for line in written
        if line["level"] in LOUD
    )
    assert counted == Counter(answers.keys()), "not one line per request answered 503"

    # Back, with the same node processes: the same code, the same page with the same
    # request_uri (the /authorize that failed put it back), which works once and is then used up.
    assert bank.token(code, pending)["access_token"]
    _, again = pushed[JAPANESE]
    front = citizen.get(pages[JAPANESE])
    assert front.status_code == 302, front.text[:500]
    assert front.headers["Location"].startswith(REDIRECT_URI + "?"), front.headers
    assert bank.token(query(front.headers["Location"])["code"], again)["access_token"]
    assert citizen.get(pages[JAPANESE]).status_code == 400
    assert bank.push()[0]
    for node in topology.nodes:
        assert at_nodes[node.name].push()[0], node.name
        assert node.process is not None, node.name
        assert node.process.pid == processes[node.name], f"{node.name} was restarted"
        assert node.process.poll() is None, f"{node.name} has exited"
