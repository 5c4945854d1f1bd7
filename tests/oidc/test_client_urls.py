"""Client URLs the IdP requests reach public addresses only, checked at registration and at
every request, with time and size limits (``idp.oidc.client_urls``).

The apps here leave ``client_urls.allow_loopback`` off, as production must; the tests' relying
parties still listen on 127.0.0.1, which is exactly what such an app refuses. Where a host name
must resolve to a chosen address, ``dns`` answers for the names it is given (the machine's
resolver for the rest): there is no DNS server a test could rebind.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import RSAKey

import idp.oidc.backchannel as backchannel
from idp.oidc import client_urls
from idp.oidc.client_urls import ClientUrlError, UrlRefused, refusal
from idp.oidc.server import SERVER
from idp.services import services
from tests.conftest import REGISTRATION_TOKEN
from tests.oidc.rp import RelyingParty

PUBLIC = "93.184.215.14"

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.3.4", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "not publicly routable"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.10.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fd00:ec2::254", "cloud metadata"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::ffff:10.0.0.5", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("2002:a00:5::1", "private"),  # 6to4 around 10.0.0.5
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 around 169.254.169.254
    ("168.63.129.16", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("192.0.0.192", "cloud metadata"),
    ("198.18.0.1", "private"),
    ("192.0.2.1", "private"),
    ("2001:db8::1", "private"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_inward_addresses_are_refused_with_their_kind(address, kind):
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_unicast_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address)) is None


def test_allow_loopback_allows_loopback_and_nothing_else():
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::1"), allow_loopback=True) is None
    for address in ("10.0.0.5", "169.254.169.254", "fd00::1"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True)


@given(st.ip_addresses(v=4))
def test_ipv6_wrappers_of_an_ipv4_address_get_its_verdict(v4):
    """Mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address itself."""
    verdict = refusal(v4)
    assert refusal(ipaddress.IPv6Address(f"::ffff:{v4}")) == verdict
    assert refusal(ipaddress.IPv6Address(f"64:ff9b::{v4}")) == verdict


@given(st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="fc00::/7"))
def test_every_private_address_is_refused(address):
    assert refusal(address) is not None


class FakeDns:
    """``dns[name] = [answer, …]``: each lookup of ``name`` takes the next answer (the last one
    repeats); an answer is an address or a list of them. Other names go to the real resolver."""

    def __init__(self) -> None:
        self.answers: dict[str, list] = {}
        self.lookups: dict[str, int] = {}
        self.real = socket.getaddrinfo

    def __setitem__(self, name: str, answers: list) -> None:
        self.answers[name] = answers

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        seen = self.lookups[host] = self.lookups.get(host, 0) + 1
        answer = self.answers[host][min(seen, len(self.answers[host])) - 1]
        out = []
        for address in [answer] if isinstance(answer, str) else answer:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return out


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture
def strict(tmp_path):
    """A testing IdP with ``client_urls.allow_loopback`` off, as in production."""
    from idp.config import AdminConfig, ClientUrlsConfig
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(
        f"sqlite:///{tmp_path}/strict.sqlite3",
        admin=AdminConfig(registration_token=REGISTRATION_TOKEN),
        client_urls=ClientUrlsConfig(allow_loopback=False),
    )
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


class _Answers(BaseHTTPRequestHandler):
    """Answers GET and POST with the server's ``status`` and ``body`` (without Content-Length
    unless ``length``, one byte every ``drip`` seconds if set); records each path in ``hits``."""

    def _answer(self):
        server = self.server
        server.hits.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(server.status)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Type", "application/json")
        if server.length:
            self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        if not server.drip:
            self.wfile.write(server.body)
            return
        for byte in server.body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(server.drip)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def _serve(host="127.0.0.1", port=0, body=None, status=200, length=True, drip=0.0):
    server = ThreadingHTTPServer((host, port), _Answers)
    server.hits, server.status, server.length, server.drip = [], status, length, drip
    server.body = body if isinstance(body, bytes) else json.dumps(body or {"keys": []}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def served() -> Iterator:
    """``served(host=…, port=…, body=…, status=…, drip=…)``: HTTP servers stopped afterwards."""
    servers: list = []

    def serve(**kwargs):
        servers.append(_serve(**kwargs))
        return servers[-1]

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _register(app, **metadata):
    """A private_key_jwt client with ``metadata``; its keys inline unless it gives a jwks_uri."""
    from idp.oidc.clients import register_client

    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
    if "jwks_uri" not in metadata:
        metadata["jwks"] = {"keys": [key.as_dict(private=False)]}
    with app.app_context():
        client, _ = register_client("RP", ["https://rp.example/cb"], "private_key_jwt", **metadata)
        return client.client_id, key


def _count(app) -> int:
    from idp.storage.db import db
    from idp.storage.models import Client

    with app.app_context():
        return db.session.query(Client).count()


@pytest.mark.parametrize(
    ("field", "uri", "reason"),
    [
        ("jwks_uri", "https://10.0.0.5/jwks", "private"),
        ("jwks_uri", "https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("jwks_uri", "https://[::ffff:10.0.0.5]/jwks", "private"),
        ("jwks_uri", "https://[fd00:ec2::254]/jwks", "cloud metadata"),
        ("jwks_uri", "https://127.0.0.1/jwks", "loopback"),
        ("jwks_uri", "https://localhost/jwks", "loopback"),
        ("jwks_uri", "http://127.0.0.1/jwks", "https"),
        ("jwks_uri", "https://user:pw@rp.example/jwks", "credentials"),
        ("jwks_uri", "https://internal.rp.test/jwks", "private"),
        ("jwks_uri", "https://mixed.rp.test/jwks", "private"),
        ("backchannel_logout_uri", "https://192.168.1.1/logout", "private"),
        ("backchannel_logout_uri", "https://[fe80::1]/logout", "link-local"),
        ("backchannel_logout_uri", "https://internal.rp.test/logout", "private"),
        ("sector_identifier_uri", "https://10.1.2.3/uris.json", "private"),
        ("sector_identifier_uri", "https://169.254.169.254/uris.json", "cloud metadata"),
    ],
)
def test_registration_refuses_urls_that_reach_inward(strict, dns, field, uri, reason):
    dns["internal.rp.test"] = ["10.20.30.40"]
    dns["mixed.rp.test"] = [[PUBLIC, "10.20.30.40"]]  # one bad address is enough
    from idp.oidc.clients import ClientRejected

    with pytest.raises(ClientRejected, match=f"{field}.*{reason}"):
        _register(strict, **{field: uri})
    assert _count(strict) == 0


def test_registration_refuses_a_host_that_does_not_resolve(strict):
    from idp.oidc.clients import ClientRejected

    with pytest.raises(ClientRejected, match="does not resolve"):
        _register(strict, jwks_uri="https://no-such-host.invalid/jwks")


def test_the_register_endpoint_answers_invalid_client_metadata(strict):
    response = strict.test_client().post(
        "/register",
        json={
            "client_name": "Bank",
            "redirect_uris": ["https://bank.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://169.254.169.254/latest/meta-data/",
        },
        headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
    assert "cloud metadata" in response.json["error_description"]
    assert _count(strict) == 0


def test_a_public_host_registers(strict, dns):
    dns["keys.rp.test"] = [PUBLIC]
    client_id, _ = _register(strict, jwks_uri="https://keys.rp.test/jwks")
    assert client_id


def test_a_loopback_sector_document_is_not_even_requested(strict, served):
    from idp.oidc.clients import ClientRejected, register_client

    server = served(body=["https://rp.example/cb"])
    uri = f"http://127.0.0.1:{server.server_address[1]}/uris.json"
    with strict.app_context(), pytest.raises(ClientRejected, match="https"):
        register_client("RP", ["https://rp.example/cb"], "client_secret_basic",
                        sector_identifier_uri=uri)  # fmt: skip
    assert server.hits == []


def _token_error(app, client_id, key) -> str | None:
    rp = RelyingParty(app.test_client(), client_id, "https://rp.example/cb", key=key)
    return rp.token(rp.login_code()).json.get("error")


def _set_metadata(app, client_id, **metadata) -> None:
    """A client stored before these rules (or changed in the database): only the request can
    still refuse it."""
    from idp.oidc.clients import find_client
    from idp.storage.db import db

    with app.app_context():
        client = find_client(client_id)
        client.set_client_metadata({**client.client_metadata, **metadata})
        db.session.commit()


def test_a_jwks_uri_that_now_resolves_inward_is_not_requested(strict, dns, served, caplog):
    """Registered while its host was public; at the token request it resolves to loopback,
    where something answers: the client assertion is refused and nothing is requested."""
    server = served()
    port = server.server_address[1]
    dns["keys.rp.test"] = [PUBLIC, "127.0.0.1"]
    client_id, key = _register(strict, jwks_uri=f"https://keys.rp.test:{port}/jwks")
    server.body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    caplog.set_level(logging.WARNING, "idp.oidc.client_auth")
    assert _token_error(strict, client_id, key) == "invalid_client"
    assert server.hits == []
    assert f"jwks_uri of client {client_id} refused" in caplog.text
    assert "loopback" in caplog.text


def test_a_stored_loopback_jwks_uri_is_refused_at_the_request(strict, dns, served, caplog):
    server = served()
    dns["keys.rp.test"] = [PUBLIC]
    client_id, key = _register(strict, jwks_uri="https://keys.rp.test/jwks")
    server.body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    _set_metadata(strict, client_id, jwks_uri=f"http://127.0.0.1:{server.server_address[1]}/j")
    caplog.set_level(logging.WARNING, "idp.oidc.client_auth")
    assert _token_error(strict, client_id, key) == "invalid_client"
    assert server.hits == []
    assert "refused" in caplog.text


def test_a_backchannel_logout_uri_now_inward_is_skipped_and_logged(strict, dns, served, caplog):
    from idp.storage.db import db
    from idp.storage.models import LogoutDelivery

    server = served(body=b"")
    dns["logout.rp.test"] = [PUBLIC, "127.0.0.1"]
    uri = f"https://logout.rp.test:{server.server_address[1]}/bcl"
    client_id, _ = _register(strict, backchannel_logout_uri=uri)
    shared = services(strict)[SERVER].services
    caplog.set_level(logging.WARNING, "idp.oidc.backchannel")
    with strict.app_context():
        backchannel.enqueue(client_id, uri, "sub-1", None, 0)
        db.session.commit()
        assert backchannel.deliver_due(shared, int(time.time())) == 1
        assert db.session.query(LogoutDelivery).count() == 0  # dropped, not retried
    assert server.hits == []
    assert "skipped" in caplog.text
    assert "loopback" in caplog.text


def test_one_lookup_per_request_and_the_connection_goes_to_the_checked_address(dns, served):
    """DNS rebinding inside one request: the first answer is checked and connected to; a
    second lookup (which would say 127.0.0.2) never happens."""
    first = served(body={"from": "checked"})
    port = first.server_address[1]
    second = served(host="127.0.0.2", port=port, body={"from": "rebound"})
    dns["localhost"] = ["127.0.0.1", "127.0.0.2"]
    got = client_urls.get_json(f"http://localhost:{port}/x", allow_loopback=True)
    assert got == {"from": "checked"}
    assert dns.lookups["localhost"] == 1
    assert second.hits == []


def test_a_large_answer_is_refused(served):
    server = served(body=b"[" + b'"x",' * 20_000 + b'"x"]')
    with pytest.raises(ClientUrlError, match="larger"):
        client_urls.get_json(f"http://127.0.0.1:{server.server_address[1]}/", True)


def test_a_large_answer_without_length_is_cut_off(served):
    server = served(body=b"[" + b'"x",' * 20_000 + b'"x"]', length=False)
    with pytest.raises(ClientUrlError, match="larger"):
        client_urls.get_json(f"http://127.0.0.1:{server.server_address[1]}/", True)


def test_a_slow_answer_is_given_up_at_the_deadline(served, monkeypatch):
    monkeypatch.setattr(client_urls, "DEADLINE", 1.0)
    server = served(body=b'{"keys": []}' + b" " * 100, drip=0.05)
    started = time.monotonic()
    with pytest.raises(ClientUrlError, match="longer than"):
        client_urls.get_json(f"http://127.0.0.1:{server.server_address[1]}/", True)
    assert time.monotonic() - started < 3


def test_redirects_are_not_followed(served):
    server = served(status=302)
    with pytest.raises(ClientUrlError, match="HTTP 302"):
        client_urls.get_json(f"http://127.0.0.1:{server.server_address[1]}/", True)
    assert len(server.hits) == 1


def test_the_environments_proxy_is_not_used(served, monkeypatch):
    """A proxy would be the address connected to, not the one checked."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("NO_PROXY", "")
    server = served(body={"ok": True})
    assert client_urls.get_json(f"http://127.0.0.1:{server.server_address[1]}/", True) == {
        "ok": True
    }


def test_http_is_only_for_loopback_and_only_when_allowed():
    with pytest.raises(UrlRefused, match="https"):
        client_urls.check("http://127.0.0.1/x", allow_loopback=False)
    with pytest.raises(UrlRefused, match="https"):
        client_urls.check("http://93.184.215.14/x", allow_loopback=True)
    client_urls.check("http://127.0.0.1/x", allow_loopback=True)


def test_production_refuses_allow_loopback():
    from idp.config import ClientUrlsConfig, Config, ConfigError

    assert Config().client_urls.allow_loopback is False
    with pytest.raises(ConfigError, match=r"client_urls\.allow_loopback"):
        Config(environment="production", client_urls=ClientUrlsConfig(allow_loopback=True)).check()


@pytest.fixture
def tls_server(tmp_path, monkeypatch) -> Iterator[tuple[ThreadingHTTPServer, int]]:
    """An https server on 127.0.0.1 with a certificate for keys.rp.test only, which requests
    trusts for this test; it answers with the server name the client sent (SNI)."""
    import datetime
    import ssl

    import requests.adapters
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keys.rp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("keys.rp.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(tmp_path / "cert.pem"))
    server = _serve()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda _sock, sent, _ctx: setattr(server, "sni", sent)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield server, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_tls_goes_to_the_checked_address_under_the_hosts_name(dns, tls_server):
    """The socket goes to the address that was checked; TLS still names the host (SNI) and
    verifies the certificate against it."""
    server, port = tls_server
    dns["keys.rp.test"] = ["127.0.0.1"]
    dns["other.rp.test"] = ["127.0.0.1"]
    assert client_urls.get_json(f"https://keys.rp.test:{port}/", True) == {"keys": []}
    assert server.sni == "keys.rp.test"
    with pytest.raises(ClientUrlError, match="SSLError"):
        client_urls.get_json(f"https://other.rp.test:{port}/", True)
