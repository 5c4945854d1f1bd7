"""The production topology on 127.0.0.1, built from the files operators install.

- a test CA and a server certificate for ``localhost`` (SAN DNS:localhost and IP:127.0.0.1);
- nginx (Debian's) from ``config/nginx/jpki-idp.conf`` with its ``@NAME@`` placeholders filled;
- two IdP nodes, each the ExecStart of ``config/systemd/jpki-idp.service`` (``gunicorn -c
  idp/gunicorn_conf.py idp.wsgi:app``) on its own port, one worker each;
- ``config/production.toml`` with this topology's issuer, trust anchors, OCSP and CRL URLs;
- a sandbox whose roots say ``O=JPKI-STANDIN`` (not the ``JPKI-TEST`` production refuses),
  serving OCSP and CRLs, and three citizens' cards issued under them;
- a PostgreSQL database of its own and Redis database 15 under a key prefix of its own, which
  the nodes reach through a ``Proxy`` each (tests/tcp_proxy.py), so that a test can cut them off
  the way a store's host goes away (the shared servers themselves are never stopped).

Anything missing fails the test with what to install, never a skip.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url

from tests.tcp_proxy import Proxy

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "config" / "nginx" / "jpki-idp.conf"
SYSTEMD_UNIT = ROOT / "config" / "systemd" / "jpki-idp.service"
PRODUCTION_TOML = ROOT / "config" / "production.toml"
BIN = Path(sys.executable).parent
STANDIN_ORGANIZATION = "JPKI-STANDIN"
REDIRECT_URI = "https://bank.example/callback"
LOGOUT_REDIRECT_URI = "https://bank.example/signed-out"
AUTH_PIN, SIGN_PIN = "1234", "ABC123"


def require(path: str | Path | None, what: str) -> str:
    if not path or not Path(path).exists():
        pytest.fail(f"{what} is missing: run script/bootstrap", pytrace=False)
    return str(path)


# --- TLS ---------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for ``localhost``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("jpki-idp production test CA"))
        .issuer_name(_name("jpki-idp production test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


# --- configuration -----------------------------------------------------------------------------


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def to_toml(data: dict, prefix: str = "") -> str:
    """Enough TOML for the IdP's file: scalars and lists, then tables (nested as a.b)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{prefix}{key}]", to_toml(value, f"{prefix}{key}.")]
    return "\n".join(lines)


def merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def fingerprint(pem_file: Path) -> str:
    certificate = x509.load_pem_x509_certificate(pem_file.read_bytes())
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


# --- processes ---------------------------------------------------------------------------------


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, **get) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the process ended ({process.returncode}):\n{log.read_text()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2, **get).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 60 s:\n{log.read_text()}")


def unit_command() -> list[str]:
    """The unit's ExecStart, with this checkout's virtualenv and gunicorn_conf."""
    for line in SYSTEMD_UNIT.read_text().splitlines():
        if line.startswith("ExecStart="):
            command = line.removeprefix("ExecStart=").split()
            break
    else:
        raise AssertionError(f"{SYSTEMD_UNIT} has no ExecStart")
    assert command[0].endswith("/.venv/bin/gunicorn"), command
    assert command[1:] == ["-c", "/opt/jpki-idp/idp/gunicorn_conf.py", "idp.wsgi:app"], command
    return [require(BIN / "gunicorn", "gunicorn"), "-c", str(ROOT / "idp" / "gunicorn_conf.py")]


@dataclass
class Node:
    """One IdP node: ``gunicorn -c idp/gunicorn_conf.py idp.wsgi:app --bind …``."""

    name: str
    port: int
    env: dict
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.folder / f"{self.name}.log"
        command = [*unit_command(), "idp.wsgi:app", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", "1", "--threads", "4"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_serving(self.url + "/.well-known/openid-configuration", self.process, log)

    def kill(self) -> None:
        """SIGKILL the node's process group (arbiter and worker), as a crashed machine stops."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


@dataclass
class Topology:
    folder: Path
    issuer: str
    ca_file: Path
    http_port: int
    nodes: list[Node]
    state: object
    bridge_port: int
    """Where the login page looks for the card bridge (``[login] bridge_url``); a test that
    needs the bridge starts ``jpki-bridge run`` there."""
    card_ids: list[str]
    """Cards of different citizens, so each flow that needs a first consent has its own."""
    client_id: str
    client_key: object
    client_kid: str
    redis_prefix: str
    env: dict
    database_proxy: Proxy
    """Between the nodes and PostgreSQL: ``cut`` it for an outage, ``mend`` it after."""
    redis_proxy: Proxy
    """Between the nodes and Redis, likewise."""
    cleanups: list = field(default_factory=list)

    def session(self) -> requests.Session:
        """An https client that trusts the test CA (and nothing else)."""
        http = requests.Session()
        http.trust_env = False  # else REQUESTS_CA_BUNDLE or a proxy variable would win
        http.verify = str(self.ca_file)
        return http

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()


def _database() -> tuple[str, object]:
    from tests.conftest import POSTGRES_URL, drop_database

    name = "idp_production_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", lambda: drop_database(name)


def _proxied(url: str, cleanups: list) -> tuple[str, Proxy]:
    """``url`` with its host and port those of a new ``Proxy`` in front of the server."""
    parsed = make_url(url)
    port = parsed.port or (6379 if parsed.drivername.startswith("redis") else 5432)
    proxy = Proxy((parsed.host or "127.0.0.1", port))
    cleanups.append(proxy.close)
    return parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False), proxy


def _forget_redis(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(prefix + "*", count=1000):
        client.delete(key)


def _nginx(folder: Path, replacements: dict[str, str]) -> subprocess.Popen:
    binary = require(shutil.which("nginx") or "/usr/sbin/nginx", "nginx (Debian package nginx)")
    site = NGINX_CONF.read_text()
    for name, value in replacements.items():
        site = site.replace(f"@{name}@", value)
    live = "\n".join(line.split("#")[0] for line in site.splitlines())
    assert not re.search(r"@[A-Z_0-9]+@", live), f"an @NAME@ placeholder was left unfilled:\n{live}"
    (folder / "jpki-idp.conf").write_text(site)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(mode=0o777, exist_ok=True)
        (folder / sub).chmod(0o777)
    (folder / "nginx.conf").write_text(
        f"""# The test's nginx: Debian's defaults reduced to one http block with the site file.
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/nginx-access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/jpki-idp.conf;
}}
"""
    )
    args = [binary, "-e", str(folder / "nginx-error.log"), "-p", str(folder)]
    args += ["-c", str(folder / "nginx.conf"), "-g", "daemon off;"]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        pytest.fail(f"nginx refused the configuration:\n{checked.stderr}")
    return subprocess.Popen(args, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def build(folder: Path) -> Topology:
    """Start everything; the caller closes it. Ports are free ones, so helpers do not collide."""
    from joserfc.jwk import ECKey

    from sandbox.citizens import SAMPLE_CITIZENS
    from sandbox.profiles import CertKind
    from sandbox.server import free_port, running_server
    from sandbox.state import SandboxState
    from tests.conftest import REDIS_URL

    cleanups: list = []
    try:
        https_port, http_port, ocsp_port = free_port(), free_port(), free_port()
        bridge_port = free_port()
        issuer = f"https://localhost:{https_port}"
        ca_file, cert_file, key_file = make_tls(folder / "tls")

        state = SandboxState.init(
            folder / "sandbox", f"http://127.0.0.1:{ocsp_port}", STANDIN_ORGANIZATION
        )
        card_ids = [state.issue_card(c, AUTH_PIN, SIGN_PIN).id for c in SAMPLE_CITIZENS[:3]]
        server = running_server(state, port=None)
        server.__enter__()
        cleanups.append(lambda: server.__exit__(None, None, None))

        database_url, drop = _database()
        cleanups.append(drop)
        prefix = f"production-test:{secrets.token_hex(4)}:"
        redis.Redis.from_url(REDIS_URL).ping()
        cleanups.append(lambda: _forget_redis(REDIS_URL, prefix))
        database_url, database_proxy = _proxied(database_url, cleanups)
        redis_url, redis_proxy = _proxied(REDIS_URL, cleanups)

        anchors = {kind.value: state.trust_dir(kind) for kind in CertKind}
        pins = [fingerprint(p) for folder_ in anchors.values() for p in folder_.glob("*.pem")]
        changes = {
            "issuer": issuer,
            "processes": 2,
            "proxy": {"trusted": ["127.0.0.1"]},
            "login": {"bridge_url": f"http://127.0.0.1:{bridge_port}"},
            "ephemeral": {"key_prefix": prefix},
            "jpki": {
                "crl_index_dir": str(folder / "crl-index"),
                "pinned_fingerprints": pins,
                "trust_anchors": {k: str(v) for k, v in anchors.items()},
                "ocsp_urls": {k.value: state.endpoints.ocsp_url(k) for k in CertKind},
                "crl_urls": {k.value: state.endpoints.crl_url(k) for k in CertKind},
                # Status changes as docs/operators.md §7 has them: every serving process polls
                # the delta CRLs and the signed feed (the nodes' StatusPoller threads).
                "delta_crl_urls": {k.value: state.endpoints.delta_crl_url(k) for k in CertKind},
                "revocation_feed": {
                    "url": state.endpoints.base_url.rstrip("/") + "/feed",
                    "certificate": str(state.feed_certificate_path()),
                },
            },
        }
        config = merge(tomllib.loads(PRODUCTION_TOML.read_text()), changes)
        assert config["environment"] == "production"
        (folder / "idp.toml").write_text(to_toml(config))
        env = {
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(folder),
            "IDP_CONFIG": str(folder / "idp.toml"),
            "IDP_SECRET_KEY": secrets.token_urlsafe(48),
            "IDP_DATABASE_URL": database_url,
            "IDP_REDIS_URL": redis_url,
            "IDP_METRICS_TOKEN": secrets.token_urlsafe(32),
        }
        idp = require(BIN / "idp", "the idp command")
        upgrade = subprocess.run(
            [idp, "db", "upgrade"], env=env, cwd=folder, capture_output=True, text=True
        )
        assert upgrade.returncode == 0, upgrade.stderr

        client_key = ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, auto_kid=True)
        jwks = folder / "bank.jwks.json"
        jwks.write_text(json.dumps({"keys": [client_key.as_dict(private=False)]}))
        add = [idp, "client", "add", "--name", "Bank", "--redirect-uri", REDIRECT_URI]
        add += ["--post-logout-redirect-uri", LOGOUT_REDIRECT_URI, "--auth-method"]
        add += ["private_key_jwt", "--jwks-file", str(jwks), "--require-par", "--require-dpop"]
        add += ["--id-token-alg", "ES256", "--purpose", "Opening a bank account online"]
        added = subprocess.run(add, env=env, cwd=folder, capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        client_id = json.loads(added.stdout.strip().splitlines()[-1])["client_id"]

        nodes = [Node(f"node{i}", free_port(), env, folder) for i in (1, 2)]
        for node in nodes:
            cleanups.append(node.stop)
            node.start()

        (folder / "nginx").mkdir()
        nginx = _nginx(
            folder / "nginx",
            {
                "SERVER_NAME": "localhost",
                "ISSUER": issuer,
                "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
                "HTTP_LISTEN": f"127.0.0.1:{http_port}",
                "CERTIFICATE": str(cert_file),
                "CERTIFICATE_KEY": str(key_file),
                "NODE_1": f"127.0.0.1:{nodes[0].port}",
                "NODE_2": f"127.0.0.1:{nodes[1].port}",
            },
        )
        cleanups.append(lambda: (nginx.terminate(), nginx.wait(10)))
        wait_until_serving(
            issuer + "/.well-known/openid-configuration",
            nginx,
            folder / "nginx" / "nginx-error.log",
            verify=str(ca_file),
        )
        return Topology(
            folder,
            issuer,
            ca_file,
            http_port,
            nodes,
            state,
            bridge_port,
            card_ids,
            client_id,
            client_key,
            client_key.kid,
            prefix,
            env,
            database_proxy,
            redis_proxy,
            cleanups,
        )
    except BaseException:
        for cleanup in reversed(cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        raise


def card_signature(state, card_id: str, digest: bytes) -> tuple[bytes, bytes]:
    """(certificate DER, PKCS#1 v1.5 signature) of the card's authentication key over
    ``digest``: what the card computes (bench/flow_client.py proves them equal)."""
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    from sandbox.profiles import CertKind

    certificate = state.certificate(card_id, CertKind.AUTH)
    key = state.private_key(card_id, CertKind.AUTH)
    signature = key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER), signature


def signed_digest(origin: str, challenge: str) -> bytes:
    """SHA-256(SHA-256(origin) ‖ SHA-256(challenge)), docs/bridge-protocol.md §4."""
    import base64

    raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    value = hashlib.sha256(origin.encode()).digest() + hashlib.sha256(raw).digest()
    return hashlib.sha256(value).digest()
