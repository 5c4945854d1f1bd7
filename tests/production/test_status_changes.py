"""A card stopped at the CA stops working everywhere, on two nodes, with config/production.toml.

Cards log in through nginx (FAPI 2.0: PAR, PKCE, private_key_jwt, DPoP) and get tokens; then
at the sandbox one card is revoked as lost (keyCompromise), one renewed (superseded), one
returned (cessationOfOperation), one put on hold and later released, and one is left alone.
Nothing but the nodes' own status pollers (the delta CRLs and the signed feed the topology
configures, docs/operators.md §7) tells the IdP.
Within ``status_interval`` (plus a margin; polled, never timed) each stopped card's browser gets
``login_required`` for ``prompt=none``, its refresh token is ``invalid_grant`` at node 2, its
access token is ``invalid_token`` at node 1's userinfo and self-information API, the bank's
Shared Signals stream holds the events of docs/shared-signals.md §1 under the card's pairwise
``sub``, the change is recorded for the account, and a new login is refused with the card's
page. The release restores logins, not the ended sessions. The untouched card keeps working.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable

import psycopg
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from tests.login.cards import pair_result
from tests.production.client import CSRF, ITEMS, Bank, Citizen, expect, query
from tests.production.test_shared_signals import _call, _stream
from tests.production.topology import AUTH_PIN, REDIRECT_URI, SIGN_PIN, Topology

pytestmark = pytest.mark.production

STATUS_INTERVAL = 60
"""``[jpki] status_interval``: production.toml keeps the default."""
MARGIN = 45
"""Two shared cores running other tests: the deadline is the interval plus this."""
VERIFIED_NAME_AND_ADDRESS = {
    "id_token": {
        "verified_claims": {
            "verification": {"trust_framework": {"value": "jp_aml"}},
            "claims": {"name": None, "address": None},
        }
    }
}
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def _eventually(what: str, check: Callable[[], bool], since: float) -> float:
    """Seconds from ``since`` until ``check()`` holds; fails past the interval and margin."""
    while True:
        if check():
            return time.monotonic() - since
        if time.monotonic() - since > STATUS_INTERVAL + MARGIN:
            pytest.fail(f"{what}: not within {STATUS_INTERVAL} s + {MARGIN} s")
        time.sleep(1)


class Holder:
    """One card's citizen and what the bank got for them."""

    def __init__(self, topology: Topology, bank: Bank, card_id: str) -> None:
        topology.card_ids.append(card_id)
        self.topology, self.bank, self.card = topology, bank, len(topology.card_ids) - 1
        self.browser = Citizen(topology, card=self.card)
        request_uri, pending = bank.push()
        page = self.browser.open_login(bank.authorization_url(request_uri))
        self.tokens = bank.token(self.browser.finish_login(*page, pending), pending)
        self.sub = bank.userinfo(self.tokens["access_token"])["sub"]

    def identify(self) -> dict:
        """A login asking for verified name and address: the consent's identity step signs
        with both keys (docs/bridge-protocol.md §9), so the IdP knows the signing certificate."""
        request_uri, pending = self.bank.push({"claims": json.dumps(VERIFIED_NAME_AND_ADDRESS)})
        front = self.browser.get(self.bank.authorization_url(request_uri))
        consent = expect(front, 303, "authorize").headers["Location"]  # the session lives
        screen = expect(self.browser.get(consent), 200, "consent page").text
        csrf, items = CSRF.search(screen).group(1), ITEMS.findall(screen)
        items += re.findall(r'name="item" type="checkbox" value="([^"]+)"', screen)
        path = re.sub(r"\?.*", "", consent)
        issued = self.browser.http.post(
            self.topology.issuer + path + "/challenge",
            data={"item": items},
            headers={"X-CSRF-Token": csrf},
        )
        assert expect(issued, 200, "identity challenge").json()["key"] == "sign"
        card_id = self.topology.card_ids[self.card]
        state = self.topology.state
        result = pair_result(
            state.certificate(card_id, CertKind.AUTH),
            state.private_key(card_id, CertKind.AUTH),
            state.certificate(card_id, CertKind.SIGN),
            state.private_key(card_id, CertKind.SIGN),
            issued.json()["challenge"],
            origin=self.topology.issuer,
        )
        form = {"item": items, "result": result, "csrf_token": csrf}
        approved = self.browser.post(path + "/approve", form)
        callback = query(expect(approved, 302, "identity approved").headers["Location"])
        return self.bank.token(callback["code"], pending)

    def silent(self) -> dict:
        """``prompt=none`` with this browser's IdP session: the callback's parameters."""
        request_uri, _ = self.bank.push({"prompt": "none"})
        answer = self.browser.get(self.bank.authorization_url(request_uri))
        assert answer.status_code in (302, 303), answer.text[:300]
        if answer.headers["Location"].startswith(REDIRECT_URI):
            return query(answer.headers["Location"])
        # A session that lives may pass the consent step first.
        consent = expect(self.browser.get(answer.headers["Location"]), 302, "consent")
        return query(consent.headers["Location"])

    def new_login(self) -> requests.Response:
        """A fresh browser's card step with this card: the page it ends on."""
        browser = Citizen(self.topology, card=self.card)
        request_uri, _ = self.bank.push()
        page = browser.open_login(self.bank.authorization_url(request_uri))
        return browser.card_step(*page)


def _at(topology: Topology, node: int, bank: Bank) -> Bank:
    aimed = Bank(topology, base=topology.nodes[node].url)
    aimed.dpop_key, aimed.dpop_nonce = bank.dpop_key, bank.dpop_nonce
    return aimed


def _resource(bank: Bank, path: str, token: str) -> requests.Response:
    headers = {"Authorization": "DPoP " + token, "DPoP": bank.proof("GET", path, token)}
    return bank.http.get(bank.base + path, headers=headers, timeout=30)


def _refused_token(response: requests.Response) -> bool:
    return response.status_code == 401 and "invalid_token" in response.headers.get(
        "WWW-Authenticate", ""
    )


class Signals:
    """The bank's poll stream: every SET it was sent, decoded, by pairwise ``sub``."""

    def __init__(self, topology: Topology, bank: Bank) -> None:
        self.bank = bank
        answer = bank._post("/token", {"grant_type": "client_credentials", "scope": "ssf"})
        self.token = expect(answer, 200, "ssf token").json()["access_token"]
        metadata = bank.http.get(topology.issuer + "/.well-known/ssf-configuration", timeout=10)
        self.keys = KeySet.import_key_set(
            bank.http.get(metadata.json()["jwks_uri"], timeout=10).json()
        )
        stream = _stream(bank, self.token, metadata.json()["configuration_endpoint"])
        self.poll_url = stream["delivery"]["endpoint_url"]
        self.by_sub: dict[str, list[dict]] = defaultdict(list)
        self.unacked: list[str] = []
        self.collect()  # anything left from before is not ours

    def collect(self) -> None:
        answer = _call(self.bank, "POST", self.poll_url, self.token, {"returnImmediately": True})
        for jti, token in expect(answer, 200, "poll").json()["sets"].items():
            if jti in self.unacked:
                continue  # offered at every poll until acknowledged (RFC 8936 §2.4)
            claims = jwt.decode(token, self.keys, algorithms=["ES256", "PS256"]).claims
            if "sub_id" in claims and "sub" in claims["sub_id"]:
                self.by_sub[claims["sub_id"]["sub"]].append(claims)
            self.unacked.append(jti)

    def events(self, sub: str) -> list[tuple[str, dict]]:
        return [(t, e) for claims in self.by_sub[sub] for t, e in claims["events"].items()]

    def ack(self) -> None:
        body = {"ack": self.unacked, "returnImmediately": True}
        expect(_call(self.bank, "POST", self.poll_url, self.token, body), 200, "ack")


def _recorded(topology: Topology, reason: str, status: str) -> int:
    """card_status_event rows of this reason and status that were applied."""
    url = topology.env["IDP_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM card_status_event WHERE reason IS NOT DISTINCT FROM %s"
            " AND status = %s AND applied_at IS NOT NULL",
            (reason, status),
        ).fetchone()
    return row[0]


def test_lost_renewed_returned_and_suspended_cards_stop_everywhere(topology: Topology):
    state = topology.state
    bank = Bank(topology)
    signals = Signals(topology, bank)
    issued = [
        state.issue_card(SAMPLE_CITIZENS[i % len(SAMPLE_CITIZENS)], AUTH_PIN, SIGN_PIN).id
        for i in range(5)
    ]
    lost, renewed, returned, held, kept = (Holder(topology, bank, card) for card in issued)
    node1, node2 = _at(topology, 0, bank), _at(topology, 1, bank)
    for holder in (lost, renewed, returned, held, kept):
        # Before: the token is good (the self-information API wants its own scope).
        selfinfo = _resource(node1, "/selfinfo/v1/income", holder.tokens["access_token"])
        assert selfinfo.status_code == 403, selfinfo.text
    assert "code" in kept.silent()

    changed = time.monotonic()
    state.revoke(topology.card_ids[lost.card], CertKind.AUTH, "keyCompromise")
    state.revoke(topology.card_ids[renewed.card], CertKind.AUTH, "superseded")
    state.revoke(topology.card_ids[returned.card], CertKind.AUTH, "cessationOfOperation")
    state.hold(topology.card_ids[held.card], CertKind.AUTH)

    expected = {
        lost.sub: [
            (CAEP + "credential-change", "keyCompromise"),
            (CAEP + "session-revoked", "keyCompromise"),
        ],
        renewed.sub: [(CAEP + "credential-change", "superseded")],
        returned.sub: [
            (CAEP + "credential-change", "cessationOfOperation"),
            (CAEP + "session-revoked", "cessationOfOperation"),
        ],
        held.sub: [
            (RISC + "account-disabled", "certificateHold"),
            (CAEP + "session-revoked", "certificateHold"),
        ],
    }
    stopped = {"lost": lost, "renewed": renewed, "returned": returned, "held": held}
    for name, holder in stopped.items():
        _eventually(
            f"{name}: refresh at node 2 refused",
            lambda h=holder: node2.refresh(h.tokens["refresh_token"]).status_code == 400,
            changed,
        )
        assert node2.refresh(holder.tokens["refresh_token"]).json()["error"] == "invalid_grant"
        access = holder.tokens["access_token"]
        _eventually(
            f"{name}: access token refused at node 1",
            lambda a=access: _refused_token(_resource(node1, "/userinfo", a)),
            changed,
        )
        assert _refused_token(_resource(node1, "/selfinfo/v1/income", access))
        assert holder.silent().get("error") == "login_required", name

        def told(sub=holder.sub) -> bool:
            signals.collect()
            got = [(t, e.get("jpki_reason")) for t, e in signals.events(sub)]
            return all(pair in got for pair in expected[sub])

        _eventually(f"{name}: the bank's stream has the events", told, changed)

    for name, holder, kind in (
        ("lost", lost, "revoked"),
        ("returned", returned, "revoked"),
        ("held", held, "on_hold"),
    ):
        _eventually(
            f"{name}: a new login refused as {kind}",
            lambda h=holder, k=kind: (r := h.new_login()).status_code == 403 and k in r.text,
            changed,
        )
    assert _recorded(topology, "keyCompromise", "revoked") >= 1
    assert _recorded(topology, "superseded", "revoked") >= 1
    assert _recorded(topology, "cessationOfOperation", "revoked") >= 1
    renewals = [e for t, e in signals.events(renewed.sub) if t == CAEP + "credential-change"]
    assert len(renewals) == 1, signals.by_sub[renewed.sub]  # told once, by feed or CRL
    [event] = renewals
    assert (event["change_type"], event["credential_type"]) == ("update", "x509")
    assert event["jpki_certificate"] == "auth"

    # The card left alone: its session, refresh token and access token still work.
    assert "code" in kept.silent()
    expect(node2.refresh(kept.tokens["refresh_token"]), 200, "kept card's refresh")
    assert _resource(node1, "/userinfo", kept.tokens["access_token"]).status_code == 200
    assert not signals.events(kept.sub)

    # The release restores logins, not what the hold ended.
    released = time.monotonic()
    state.release(topology.card_ids[held.card], CertKind.AUTH)

    def enabled() -> bool:
        signals.collect()
        return RISC + "account-enabled" in [t for t, _ in signals.events(held.sub)]

    _eventually("held: the bank told of the release", enabled, released)
    assert held.silent().get("error") == "login_required"
    assert node2.refresh(held.tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _refused_token(_resource(node1, "/userinfo", held.tokens["access_token"]))
    _eventually(
        "held: a new login accepted after the release",
        lambda: held.new_login().status_code in (302, 303),
        released,
    )
    request_uri, pending = bank.push()
    page = held.browser.open_login(bank.authorization_url(request_uri))
    tokens = bank.token(held.browser.finish_login(*page, pending), pending)
    assert bank.userinfo(tokens["access_token"])["sub"] == held.sub
    history = expect(held.browser.get("/account"), 200, "account page").text
    assert "一時停止の解除" in history  # the release, after the hold
    assert history.count("一時停止") >= 2
    assert "このカードは一時停止中です" not in history
    signals.ack()


def test_changed_facts_tell_the_bank_and_end_nothing(topology: Topology):
    """affiliationChanged on the signing certificate (a move, a new name): the bank hears
    verified-facts-changed, the citizen's account page says so, and the login, session and
    tokens go on (the card the person logs in with is unchanged)."""
    state = topology.state
    bank = Bank(topology)
    signals = Signals(topology, bank)
    card = state.issue_card(SAMPLE_CITIZENS[1], AUTH_PIN, SIGN_PIN).id
    moved = Holder(topology, bank, card)
    tokens = moved.identify()
    node1, node2 = _at(topology, 0, bank), _at(topology, 1, bank)

    changed = time.monotonic()
    state.revoke(card, CertKind.SIGN, "affiliationChanged")

    def told() -> bool:
        signals.collect()
        return bool(signals.events(moved.sub))

    _eventually("moved: the bank's stream has the event", told, changed)
    [(event_type, event)] = signals.events(moved.sub)
    assert event_type == topology.issuer + "/ssf/event-type/verified-facts-changed"
    assert (event["jpki_certificate"], event["jpki_reason"]) == ("sign", "affiliationChanged")
    assert not {"name", "address", "serial", "issuer"} & set(event)
    _eventually(
        "moved: recorded",
        lambda: _recorded(topology, "affiliationChanged", "revoked") >= 1,
        changed,
    )
    history = expect(moved.browser.get("/account"), 200, "account page").text
    assert "記載事項の変更" in history
    # Nothing ended: the session, both token families and the access tokens work, on each node.
    assert "code" in moved.silent()
    for family in (moved.tokens, tokens):
        expect(node2.refresh(family["refresh_token"]), 200, "refresh after the change")
        assert _resource(node1, "/userinfo", family["access_token"]).status_code == 200
    signals.ack()
