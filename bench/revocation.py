"""From a change at the CA to its effects everywhere: ``python -m bench.revocation``.

Builds the login benchmark's world (``bench/flow_world.py``: sandbox CA, OCSP, CRLs and its
signed revocation feed; PostgreSQL and Redis; a FAPI 2.0 client with a remembered consent per
card) and serves the IdP from **two** gunicorn nodes (one gthread worker each) sharing them,
with the status sources configured as docs/operators.md §7 has operators do: the sandbox's
delta CRLs and feed, polled by each node's own thread every ``status_poll_interval``. A second
client holds a consent for every account too; the first takes SETs by push (RFC 8935, a
receiver here on loopback), the second by poll (RFC 8936, long polls).

Every card logs in (node 1) and keeps its IdP session, refresh token and access token. Then at
the sandbox a third of the cards are revoked as lost (keyCompromise), a third as renewed
(superseded), a third put on hold; later the holds are released. From each change (wall clock,
just before the sandbox writes it) every card's own thread asks, about once a second, until
each has happened: a new login refused (a fresh browser, nodes alternating), the session dead
(``prompt=none`` → ``login_required``), the refresh refused (node 2), the access token
refused (userinfo, node 1); the receiver and the poller note when the SETs arrive. For a
release: a new login accepted again, and the ``account-enabled`` SET.

**Logins wrongly accepted**: a login of a changed card accepted after the change at the CA
that is not then taken back (its refresh token still works once the card's other effects are
seen), or accepted after one of the card's logins was refused, or later than
``status_interval``. A login accepted after the change but before the IdP could know (within
the interval) and then ended is counted apart (``logins_accepted_then_ended``).

Prints one JSON line: per event kind, p50/p99/max seconds (and n) per effect; ``--record``
appends it to ``bench/results/revocation.jsonl``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.flow import RESULTS, Gunicorn, percentile
from bench.flow_world import REDIRECT_URI

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
EFFECTS = ("login_refused", "session_dead", "refresh_refused", "access_refused")
"""What each revocation or hold must bring about, besides the SETs."""
FIRST_EVENT = {
    "keyCompromise": CAEP + "session-revoked",
    "superseded": CAEP + "credential-change",
    "certificateHold": RISC + "account-disabled",
    "removeFromCRL": RISC + "account-enabled",
}
"""The event whose arrival times the SET columns (docs/shared-signals.md §1)."""


# --- the world ---------------------------------------------------------------------------------


def _configure(world, poll_interval: float) -> None:
    """Status sources, as operators configure them, and push to loopback (development only)."""
    from sandbox.profiles import CertKind

    state = world.state
    base = state.endpoints.base_url.rstrip("/")
    text = (world.work / "idp.toml").read_text()
    text = text.replace("[jpki]\n", f"[jpki]\nstatus_poll_interval = {poll_interval}\n", 1)
    text = text.replace('auth = "ocsp"\nsign = "ocsp"', 'auth = "ocsp,crl"\nsign = "ocsp,crl"')
    text += "[jpki.crl_urls]\n" + "".join(
        f'{k.value} = "{state.endpoints.crl_url(k)}"\n' for k in CertKind
    )
    text += "[jpki.delta_crl_urls]\n" + "".join(
        f'{k.value} = "{state.endpoints.delta_crl_url(k)}"\n' for k in CertKind
    )
    text += f'[jpki.revocation_feed]\nurl = "{base}/feed"\n'
    text += f'certificate = "{state.feed_certificate_path()}"\n'
    text += "[client_urls]\nallow_loopback = true\n"
    # A card retried every second while it is refused would soon be locked out by the failed
    # login limits (10 per certificate, 100 per address, all of ours from 127.0.0.1), and one
    # client's requests near its PAR limit: what is measured is when the card's status reaches
    # each place, not the rate limiter.
    text += "[limits]\n" + "".join(
        f'{name} = "100000 per minute"\n'
        for name in ("failed_logins_per_certificate", "failed_logins_per_ip", "par_per_client")
    )
    (world.work / "idp.toml").write_text(text)


def _second_client(world) -> tuple[str, object, str, dict[str, tuple[str, str]]]:
    """A second client with a remembered consent for every account; and for each card the
    ``sub`` each client sees: (client id, key, kid, {card id: (sub at 1, sub at 2)})."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric import ec

    from bench.flow_world import _app, _register_client, _remember_consent
    from idp.login.accounts import account_for
    from idp.oidc.clients import find_client
    from idp.oidc.subjects import SubjectMapper
    from idp.services import services
    from idp.storage.db import db
    from sandbox.profiles import CertKind

    key, kid = ec.generate_private_key(ec.SECP256R1()), "poll-" + secrets.token_hex(4)
    app = _app(world.env)
    subs = {}
    with app.app_context():
        client_id = _register_client(key, kid)
        mapper = SubjectMapper(services(app).config.secret_key)
        first, second = find_client(world.client_id), find_client(client_id)
        for card in world.cards:
            certificate = world.state.certificate(card.card_id, CertKind.AUTH)
            _remember_consent(certificate, client_id)
            now = dt.datetime.now(dt.UTC)
            account = account_for(SimpleNamespace(certificate=certificate), now)
            subs[card.card_id] = (
                mapper.for_client(account, first),
                mapper.for_client(account, second),
            )
        db.session.remove()
        db.engine.dispose()
    return client_id, key, kid, subs


class Node:
    """``Browser``'s connection aimed at one node (the Host and URLs stay the issuer's)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def aim(self, browser) -> None:
        browser.conn.close()
        browser.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


# --- a card's relying party and browser --------------------------------------------------------


def _client_post(browser, path: str, form: dict, step: str = "token"):
    """A back-channel POST with private_key_jwt and DPoP, again for a fresh nonce."""
    from bench.flow_client import ASSERTION_TYPE

    for _ in range(2):
        body = {**form, "client_assertion_type": ASSERTION_TYPE}
        body["client_assertion"] = browser._assertion()
        proof = browser._proof("POST", browser.issuer + path)
        got = browser._send("POST", path, body, {"DPoP": proof}, step)
        if got[0] == 400 and b"use_dpop_nonce" in got[2]:
            continue
        return got
    return got


def _authorize(browser, extra: dict | None = None):
    """PAR and the authorization endpoint with the browser's cookies: (status, headers,
    pending)."""
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(12)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    form = browser.pushed_request(challenge.rstrip(b"=").decode(), state)
    form.update(extra or {})
    got = browser._send("POST", "/par", form, step="par")
    if got[0] != 201:
        raise RuntimeError(f"par: HTTP {got[0]} {got[2][:200]!r}")
    request_uri = json.loads(got[2])["request_uri"]
    query = urlencode({"client_id": browser.client_id, "request_uri": request_uri})
    status, headers, _ = browser._send("GET", "/authorize?" + query, step="authorize")
    return status, headers, {"verifier": verifier, "state": state}


def _callback(location: str) -> dict:
    from bench.flow_client import _query

    return _query(location)


def login(browser) -> dict | None:
    """A new login (no cookies): its tokens, or None when the card is refused."""
    from bench.flow_client import CSRF, PAGE_CHALLENGE

    browser.cookies = {}
    _, headers, pending = _authorize(browser)
    page = urlsplit(headers["Location"]).path
    _, _, html = browser._send("GET", page, step="page")
    csrf, challenge = CSRF.search(html.decode()), PAGE_CHALLENGE.search(html.decode())
    if csrf is None or challenge is None:
        raise RuntimeError("login page: no CSRF token or challenge")
    form = {"csrf_token": csrf.group(1), "result": browser._bridge_result(challenge.group(1))}
    got = browser._send("POST", page + "/result", form, step="result")
    if got[0] == 403:
        return None
    if got[0] != 302:
        raise RuntimeError(f"result: HTTP {got[0]} {got[1].get('Location', '')}")
    code = _callback(got[1]["Location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    form["code_verifier"] = pending["verifier"]
    got = _client_post(browser, "/token", form)
    if got[0] != 200:
        raise RuntimeError(f"token: HTTP {got[0]} {got[2][:200]!r}")
    return json.loads(got[2])


def session_dead(browser) -> bool:
    _, headers, _ = _authorize(browser, {"prompt": "none"})
    return _callback(headers.get("Location", "")).get("error") == "login_required"


def refresh_refused(browser, refresh_token: str) -> bool:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _client_post(browser, "/token", form)[0] == 400


def access_refused(browser, access_token: str) -> bool:
    headers = {
        "Authorization": "DPoP " + access_token,
        "DPoP": browser._proof("GET", browser.issuer + "/userinfo", access_token),
    }
    return browser._send("GET", "/userinfo", None, headers, "userinfo")[0] == 401


# --- Shared Signals: a push receiver and a poller ----------------------------------------------


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Arrivals:
    """When each (sub, event type) first arrived, by wall clock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: dict[tuple[str, str], float] = {}

    def note(self, token: str) -> None:
        now, claims = time.time(), _payload(token)
        sub = claims.get("sub_id", {}).get("sub")
        with self.lock:
            for event in claims.get("events", {}):
                self.first.setdefault((sub, event), now)


def _receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.note(body.decode())
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _json_call(browser, method: str, path: str, token: str, body: dict | None = None):
    for _ in range(2):
        headers = {
            "Authorization": "DPoP " + token,
            "DPoP": browser._proof(method, browser.issuer + path.split("?")[0], token),
            "Content-Type": "application/json",
            "Host": browser.host,
        }
        browser.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = browser.conn.getresponse()
        data = response.read()
        if nonce := response.getheader("DPoP-Nonce"):
            browser.dpop_nonce = nonce
        if response.status != 401 or not nonce:
            return response.status, data
    return response.status, data


def _stream(browser, delivery: dict) -> str:
    """The client's stream with ``delivery``: its poll URL path, or ''."""
    got = _client_post(browser, "/token", {"grant_type": "client_credentials", "scope": "ssf"})
    if got[0] != 200:
        raise RuntimeError(f"ssf token: HTTP {got[0]} {got[2][:200]!r}")
    token = json.loads(got[2])["access_token"]
    status, data = _json_call(browser, "POST", "/ssf/stream", token, {"delivery": delivery})
    if status != 201:
        raise RuntimeError(f"ssf stream: HTTP {status} {data[:200]!r}")
    browser.ssf_token = token
    return urlsplit(json.loads(data)["delivery"].get("endpoint_url", "")).path


def _poller(browser, path: str, arrivals: Arrivals, stop: threading.Event) -> None:
    acks: list[str] = []
    while not stop.is_set():
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
            status, data = _json_call(
                browser, "POST", path, browser.ssf_token, {"ack": acks, "maxEvents": 100}
            )
            acks = []
            if status == 200:
                for jti, token in json.loads(data)["sets"].items():
                    arrivals.note(token)
                    acks.append(jti)
                continue
        browser.conn.close()
        stop.wait(0.5)


# --- the measurement ---------------------------------------------------------------------------


@dataclasses.dataclass
class Card:
    card_id: str
    signer: object
    browser: object
    """The citizen's browser and the first client: the session and tokens under watch."""
    tokens: dict
    subs: tuple[str, str]
    reason: str = ""
    changed_at: float = 0.0
    seen: dict = dataclasses.field(default_factory=dict)
    accepted_after: list = dataclasses.field(default_factory=list)
    refused_at: float | None = None
    last_error: dict = dataclasses.field(default_factory=dict)
    """Per effect not seen yet, the last exchange that failed (for the missing ones)."""


class Watch:
    """One card's questions to the nodes; each says whether its effect has happened."""

    def __init__(self, card: Card, world, nodes: list[Node]) -> None:
        self.card, self.world, self.nodes, self.attempt = card, world, nodes, 0
        self.fresh = self._browser()

    def _browser(self):
        from bench.flow_client import Browser

        world = self.world
        return Browser(
            world.issuer, world.client_id, world.client_key, world.client_kid, self.card.signer
        )

    def _new_login(self) -> dict | None:
        """A fresh browser's login, the nodes taking turns."""
        self.nodes[self.attempt % 2].aim(self.fresh)
        self.attempt += 1
        tokens = login(self.fresh)
        if tokens is not None:
            self.card.accepted_after.append((time.time(), self.fresh.dpop_key, tokens))
            self.fresh = self._browser()
        return tokens

    def login_refused(self) -> bool:
        refused = self._new_login() is None
        if refused and self.card.refused_at is None:
            self.card.refused_at = time.time()
        return refused

    def login_restored(self) -> bool:
        return self._new_login() is not None

    def session_dead(self) -> bool:
        self.nodes[0].aim(self.card.browser)
        return session_dead(self.card.browser)

    def refresh_refused(self) -> bool:
        self.nodes[1].aim(self.card.browser)
        return refresh_refused(self.card.browser, self.card.tokens["refresh_token"])

    def access_refused(self) -> bool:
        self.nodes[0].aim(self.card.browser)
        return access_refused(self.card.browser, self.card.tokens["access_token"])


def _watch(card: Card, world, nodes, deadline: float, effects=EFFECTS) -> None:
    """Ask about once a second until every effect was seen or the deadline passed."""
    watch = Watch(card, world, nodes)
    while time.time() < deadline and not all(e in card.seen for e in effects):
        started = time.time()
        for effect in (e for e in effects if e not in card.seen):
            try:
                if getattr(watch, effect)():
                    card.seen[effect] = time.time()
            except (OSError, http.client.HTTPException, RuntimeError, KeyError) as error:
                card.last_error[effect] = repr(error)[:200]
        time.sleep(max(0.0, 1.0 - (time.time() - started)))


def _still_accepted(card: Card, world, nodes) -> list[float]:
    """Times of logins accepted after the change whose refresh tokens still work."""
    from bench.flow_client import Browser
    from bench.flow_jose import ec_public_jwk

    alive = []
    for at, dpop_key, tokens in card.accepted_after:
        browser = Browser(world.issuer, world.client_id, world.client_key, world.client_kid, None)
        browser.dpop_key, browser.dpop_jwk = dpop_key, ec_public_jwk(dpop_key)
        nodes[1].aim(browser)
        if not refresh_refused(browser, tokens["refresh_token"]):
            alive.append(at)
    return alive


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "p50": round(percentile(values, 0.50), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def _summarise(cards: list[Card], arrivals: tuple[Arrivals, Arrivals], effects) -> dict:
    push, poll = arrivals
    out: dict[str, dict] = {}
    for reason in sorted({c.reason for c in cards}):
        group = [c for c in cards if c.reason == reason]
        row = {e: _stats([c.seen[e] - c.changed_at for c in group if e in c.seen]) for e in effects}
        event = FIRST_EVENT[reason]
        row["set_delivered_push"] = _stats(
            [push.first[(c.subs[0], event)] - c.changed_at for c in group
             if (c.subs[0], event) in push.first]
        )  # fmt: skip
        row["set_available_poll"] = _stats(
            [poll.first[(c.subs[1], event)] - c.changed_at for c in group
             if (c.subs[1], event) in poll.first]
        )  # fmt: skip
        row["cards"] = len(group)
        out[reason] = row
    return out


STATUS_INTERVAL = 60.0
"""``[jpki] status_interval`` (the default): the bound every effect answers to."""


def _streams(world, client2: tuple, nodes: list[Node], receiver, poll: Arrivals, stop):
    """The first client's push stream to ``receiver``; the second's poll stream, read by a
    thread (returned, started) that notes arrivals in ``poll``."""
    from bench.flow_client import Browser

    pusher = Browser(world.issuer, world.client_id, world.client_key, world.client_kid, None)
    delivery = {"method": "urn:ietf:rfc:8935"}
    delivery["endpoint_url"] = f"http://127.0.0.1:{receiver.server_address[1]}/events"
    delivery["authorization_header"] = "Bearer " + secrets.token_urlsafe(16)
    _stream(pusher, delivery)
    poller = Browser(world.issuer, *client2, None)
    nodes[1].aim(poller)
    path = _stream(poller, {"method": "urn:ietf:rfc:8936"})
    thread = threading.Thread(target=_poller, args=(poller, path, poll, stop))
    thread.start()
    return thread


def _logged_in(world, subs: dict) -> list[Card]:
    """Every card logged in at node 1 (the issuer's port), with its tokens and session."""
    from bench.flow_client import Browser, CardSigner

    cards = []
    for i, bench_card in enumerate(world.cards):
        signer = CardSigner(bench_card, world.state)
        browser = Browser(world.issuer, world.client_id, world.client_key, world.client_kid, signer)
        tokens = login(browser)
        if tokens is None:
            raise RuntimeError("a good card was refused")
        card = Card(bench_card.card_id, signer, browser, tokens, subs[bench_card.card_id])
        card.reason = ("keyCompromise", "superseded", "certificateHold")[i % 3]
        cards.append(card)
    return cards


def _change(world, cards: list[Card], nodes, arrivals, effects=EFFECTS) -> None:
    """Make each card's change at the sandbox, then watch every card to the deadline."""
    from sandbox.profiles import CertKind

    for card in cards:
        card.changed_at = time.time()
        if card.reason == "certificateHold":
            world.state.hold(card.card_id, CertKind.AUTH)
        elif card.reason == "removeFromCRL":
            world.state.release(card.card_id, CertKind.AUTH)
        else:
            world.state.revoke(card.card_id, CertKind.AUTH, card.reason)
    deadline = time.time() + STATUS_INTERVAL + 60
    _run(
        [threading.Thread(target=_watch, args=(c, world, nodes, deadline, effects)) for c in cards]
    )
    _settle(arrivals, cards, deadline)


def _logins_accepted(cards: list[Card], world, nodes) -> tuple[list[dict], int]:
    """(the logins wrongly accepted, how many were accepted after the change and ended)."""
    wrong, ended = [], 0
    for card in cards:
        alive = _still_accepted(card, world, nodes)
        for at, _, _ in card.accepted_after:
            why = [
                name
                for name, bad in (
                    ("tokens_still_work", at in alive),
                    ("past_status_interval", at - card.changed_at > STATUS_INTERVAL),
                    ("after_a_refusal", card.refused_at is not None and at > card.refused_at),
                )
                if bad
            ]
            if why:
                wrong.append({"reason": card.reason, "after_s": round(at - card.changed_at, 2),
                              "why": why})  # fmt: skip
            else:
                ended += 1
    return wrong, ended


def _missing(cards: list[Card], effects) -> list[str]:
    """Each effect not seen, with the last failed exchange of its question."""
    return sorted(
        {
            f"{c.reason} {e}: {c.last_error.get(e, 'no error, not yet')}"
            for c in cards
            for e in effects
            if e not in c.seen
        }
    )


def _nothing_restored(held: list[Card], nodes) -> bool:
    """What the hold ended stays ended after the release: no session, no refresh."""
    stayed = True
    for card in held:
        nodes[0].aim(card.browser)
        stayed &= session_dead(card.browser)
        stayed &= refresh_refused(card.browser, card.tokens["refresh_token"])
    return stayed


def measure(args) -> dict:
    from bench.flow_world import World
    from sandbox.server import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-revocation-"))
    print(f"work folder: {work}", file=sys.stderr)
    ports = free_port(), free_port()
    world = World.build(work, database="postgresql", workers=1, cards=args.cards, port=ports[0])
    servers, stop, threads = [], threading.Event(), []
    push, poll = Arrivals(), Arrivals()
    receiver = _receiver(push)
    try:
        _configure(world, args.poll_interval)
        *client2, subs = _second_client(world)
        for port in ports:
            servers.append(Gunicorn(dataclasses.replace(world, port=port), 1, "gthread", 4, None))
        for server, port in zip(servers, ports, strict=True):
            server.wait_ready(f"http://127.0.0.1:{port}")
        nodes = [Node(p) for p in ports]
        threads.append(_streams(world, tuple(client2), nodes, receiver, poll, stop))
        cards = _logged_in(world, subs)
        _change(world, cards, nodes, [push, poll])
        held = [c for c in cards if c.reason == "certificateHold"]
        released = [
            Card(c.card_id, c.signer, c.browser, c.tokens, c.subs, "removeFromCRL") for c in held
        ]
        _change(world, released, nodes, [push, poll], ("login_restored",))
        stayed = _nothing_restored(held, nodes)
        wrong, ended = _logins_accepted(cards, world, nodes)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        receiver.shutdown()
        for server in servers:
            server.stop()
        world.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "events": {
            **_summarise(cards, (push, poll), EFFECTS),
            **_summarise(released, (push, poll), ("login_restored",)),
        },
        "logins_wrongly_accepted": len(wrong),
        "logins_wrongly_accepted_detail": wrong,
        "logins_accepted_then_ended": ended,
        "release_restored_nothing_ended": stayed,
        "missing": sum(len(EFFECTS) - len(c.seen) for c in cards)
        + sum(1 - len(c.seen) for c in released),
        "missing_why": _missing(cards, EFFECTS) + _missing(released, ("login_restored",)),
        "cards": len(cards),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.revocation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cards", type=int, default=12, help="cards; a third of them per kind")
    parser.add_argument("--poll-interval", type=float, default=15, help="status_poll_interval")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)
    line = measure(args) | {
        "nodes": 2,
        "status_interval_s": STATUS_INTERVAL,
        "status_poll_interval_s": args.poll_interval,
        "sandbox_delta_crl_interval_s": 15,
        "label": args.label,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "revocation.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _settle(arrivals: list[Arrivals], cards: list[Card], deadline: float) -> None:
    """Wait (to the deadline) until both receivers have each card's first event."""
    while time.time() < deadline:
        if all(
            (c.subs[i], FIRST_EVENT[c.reason]) in a.first
            for c in cards
            for i, a in enumerate(arrivals)
        ):
            return
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
