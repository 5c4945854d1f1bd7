"""The floor under the login target: ``python -m bench.floor [--seconds 15] [--rounds 3]``.

What one gunicorn worker, pinned to one core, can do at best for the six requests of a card
login when the application does nothing but what no implementation can skip
(``bench/floor_app.py``: the private_key_jwt assertions, the card's certificate and signature,
the DPoP proofs, two RS256 tokens signed and one verified; no storage, no templates). Four
servers, run in turn so that the machine's drift hits them alike, ``--rounds`` times each:

- ``plain/none``: a bare WSGI callable answering the six requests without any work: gunicorn
  and HTTP alone;
- ``plain/crypto``: the same plus the cryptography: the floor of any Python IdP on gunicorn;
- ``flask/none`` and ``flask/crypto``: the same handlers as Flask views.

The load generator (this process, pinned to the other core; ``bench.flow``'s ``Gunicorn``
starts the server with the IdP's gunicorn settings and access log) sends logins from
``--concurrency`` keep-alive connections and checks each status. The final JSON line has, per
server, the median of its rounds: ``flows_per_s``, ``server_cpu_ms_per_flow`` (the worker's
CPU over the run / logins), and ``capacity_per_s`` (1000 / that: what the core could do if
the load generator kept up). ``--record`` appends it to bench/results/floor.jsonl.
``--http-server granian`` serves the same apps with granian (Rust, WSGI) instead of gunicorn:
what the floor would be on another server.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from bench.floor_app import CLIENT_ID, ORIGIN
from bench.flow import CLIENT_CPU, RESULTS, SERVER_CPU, Gunicorn, percentile
from bench.flow_jose import b64url, ec_public_jwk, es256

SERVERS = ("plain/none", "plain/crypto", "flask/none", "flask/crypto")
CHALLENGE = re.compile(r'data-challenge="([^"]+)"')
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def write_keys(folder: Path, issuer: str) -> SimpleNamespace:
    """The client's EC key, the IdP's RSA key, a CA and a card certificate it issued."""
    client = ec.generate_private_key(ec.SECP256R1())
    (folder / "client.json").write_text(json.dumps({**ec_public_jwk(client), "kid": "c"}))
    for alg, idp in (
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ):
        pem = idp.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (folder / f"idp-{alg}.pem").write_bytes(pem)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    card_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _certificate("floor CA", ca_key.public_key(), "floor CA", ca_key)
    card = _certificate("floor card", card_key.public_key(), "floor CA", ca_key)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "issuer").write_text(issuer)
    certificate = base64.b64encode(card.public_bytes(serialization.Encoding.DER)).decode()
    return SimpleNamespace(client=client, card_key=card_key, certificate=certificate)


def _certificate(subject: str, public_key, issuer: str, signer) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(signer, hashes.SHA256())
    )


class Login:
    """One browser and its relying party on one keep-alive connection each, like bench.flow."""

    def __init__(self, issuer: str, keys: SimpleNamespace, crypto: bool) -> None:
        parts = urlsplit(issuer)
        self.issuer, self.keys, self.crypto = issuer, keys, crypto
        self.browser = http.client.HTTPConnection(parts.hostname, parts.port)
        self.backend = http.client.HTTPConnection(parts.hostname, parts.port)
        self.dpop_key = ec.generate_private_key(ec.SECP256R1())
        self.dpop_jwk = ec_public_jwk(self.dpop_key)

    def run(self) -> None:
        form = {"client_id": CLIENT_ID, "response_type": "code", "scope": "openid"}
        pushed = self._json(self.backend, "POST", "/par", {**form, **self._assertion()}, 201)
        query = urlencode({"client_id": CLIENT_ID, "request_uri": pushed["request_uri"]})
        page, _ = self._send(self.browser, "GET", f"/authorize?{query}", None, {}, 303)
        _, html = self._send(self.browser, "GET", page, None, {}, 200)
        challenge = CHALLENGE.search(html.decode()).group(1)
        result = json.dumps(
            {
                "certificate": self.keys.certificate,
                "challenge": challenge,
                "signature": self._card_signature(challenge),
            }
        )
        headers = {"Content-Type": "application/json"}
        self._send(self.browser, "POST", page + "/result", result, headers, 303)
        proof = {"DPoP": self._proof("POST", "/token", {})}
        tokens = self._json(
            self.backend,
            "POST",
            "/token",
            {"grant_type": "authorization_code", **self._assertion()},
            200,
            proof,
        )
        access = tokens["access_token"]
        ath = b64url(hashlib.sha256(access.encode()).digest())
        headers = {
            "Authorization": f"DPoP {access}",
            "DPoP": self._proof("GET", "/userinfo", {"ath": ath}),
        }
        self._send(self.backend, "GET", "/userinfo", None, headers, 200)

    def _assertion(self) -> dict:
        now = int(time.time())
        claims = {
            "iss": CLIENT_ID,
            "sub": CLIENT_ID,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": es256(self.keys.client, {"kid": "c"}, claims),
        }

    def _proof(self, method: str, path: str, extra: dict) -> str:
        header = {"typ": "dpop+jwt", "jwk": self.dpop_jwk}
        claims = {
            "htm": method,
            "htu": self.issuer + path,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(12),
            **extra,
        }
        return es256(self.dpop_key, header, claims)

    def _card_signature(self, challenge: str) -> str:
        if not self.crypto:  # the server does not look: spare the load generator's core
            return base64.b64encode(bytes(256)).decode()
        raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
        value = hashlib.sha256(ORIGIN.encode()).digest() + hashlib.sha256(raw).digest()
        digest = hashlib.sha256(value).digest()
        signature = self.keys.card_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def _json(self, conn, method, path, form, status, headers=None) -> dict:
        body = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return json.loads(self._send(conn, method, path, body, headers, status)[1])

    @staticmethod
    def _send(conn, method, path, body, headers, status):
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != status:
            raise RuntimeError(f"{method} {path.split('?')[0]} answered {response.status}")
        return response.getheader("Location"), body


class Granian(Gunicorn):
    """granian (an HTTP server written in Rust, WSGI interface) serving the same app: one worker
    process with as many blocking threads as gunicorn's, pinned alike, no access log."""

    def __init__(self, world, threads: int, app: str) -> None:
        self.log = world.work / "access.log"
        command = [str(Path(sys.executable).with_name("granian")), "--interface", "wsgi"]
        command += ["--host", "127.0.0.1", "--port", str(world.port), "--workers", "1"]
        command += ["--blocking-threads", str(threads), "--log-level", "warning", app]
        if shutil.which("taskset"):
            command = ["taskset", "-c", str(SERVER_CPU), *command]
        self.process = subprocess.Popen(command, env=world.env, cwd=world.work)  # noqa: S603
        self.workers = 1

    def worker_pids(self) -> list[int]:
        return [self.process.pid, *super().worker_pids()]  # the worker, and the process itself


def measure(server: str, issuer: str, keys, args, work: Path) -> dict:
    """One server, warmed up, then ``args.seconds`` of logins."""
    framework, kind = server.split("/")
    port = urlsplit(issuer).port
    env = {
        **os.environ,
        "FLOOR_DIR": str(work),
        "FLOOR_WORK": kind,
        "FLOOR_FRAMEWORK": framework,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    world = SimpleNamespace(work=work, port=port, env=env)
    if args.http_server == "granian":
        gunicorn = Granian(world, args.threads, "bench.floor_app:app")
    else:
        gunicorn = Gunicorn(world, 1, "gthread", args.threads, None, app="bench.floor_app:app")
    try:
        gunicorn.wait_ready(issuer)
        logins = [Login(issuer, keys, kind == "crypto") for _ in range(args.concurrency)]
        for login in logins:
            login.run()
        stop_at = time.monotonic() + args.seconds
        durations: list[float] = []
        errors: list[str] = []

        def loop(login: Login) -> None:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    login.run()
                except (OSError, RuntimeError, ValueError) as e:
                    errors.append(str(e))
                    return
                durations.append(time.perf_counter() - started)

        cpu_before, started = gunicorn.cpu_seconds(), time.monotonic()
        threads = [threading.Thread(target=loop, args=(login,)) for login in logins]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed, cpu = time.monotonic() - started, gunicorn.cpu_seconds() - cpu_before
    finally:
        gunicorn.stop()
    per_flow = cpu * 1000 / max(1, len(durations))
    return {
        "flows_per_s": round(len(durations) / elapsed, 1),
        "server_cpu_ms_per_flow": round(per_flow, 2),
        "capacity_per_s": round(1000 / per_flow, 1) if durations else 0.0,
        "p50_ms": round(percentile(durations, 0.5) * 1000, 2),
        "p99_ms": round(percentile(durations, 0.99) * 1000, 2),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def _median(runs: list[dict]) -> dict:
    figures = ("flows_per_s", "server_cpu_ms_per_flow", "capacity_per_s", "p50_ms", "p99_ms")
    summary = {k: round(statistics.median(r[k] for r in runs), 2) for k in figures}
    summary["errors"] = sum(r["errors"] for r in runs)
    summary["rounds"] = [r["server_cpu_ms_per_flow"] for r in runs]
    return summary


def main(argv: list[str] | None = None) -> int:
    summary = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=summary)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each server, alternating")
    parser.add_argument("--concurrency", type=int, default=8, help="logins at once")
    parser.add_argument("--threads", type=int, default=4, help="threads of the gthread worker")
    parser.add_argument(
        "--http-server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="gunicorn with the IdP's settings, or granian for comparison",
    )
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset")
    parser.add_argument("--record", action="store_true", help="append to bench/results/floor.jsonl")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    from sandbox.server import free_port

    servers = args.servers.split(",")
    runs: dict[str, list[dict]] = {s: [] for s in servers}
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    try:
        issuer = f"http://127.0.0.1:{free_port()}"
        keys = write_keys(work, issuer)
        os.sched_setaffinity(0, {CLIENT_CPU})
        for round_ in range(args.rounds):
            for server in servers:
                runs[server].append(measure(server, issuer, keys, args, work))
                print(
                    f"round {round_ + 1} {server:13} {json.dumps(runs[server][-1])}",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    line = {
        "servers": {s: _median(r) for s, r in runs.items()},
        "workers": 1,
        "http_server": args.http_server,
        "worker_class": f"gthreadx{args.threads}" if args.http_server == "gunicorn" else None,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "label": args.label,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "floor.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
