"""Origin canonicalisation for ``--allow-origin`` and the DNS-rebinding Host check."""

from __future__ import annotations

import pytest

from client_bridge.guard import OriginSyntaxError, canonical_origin, host_allowed


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("https://IdP.Example.jp", "https://idp.example.jp"),
        ("https://idp.example.jp:443", "https://idp.example.jp"),
        ("https://idp.example.jp:8443/", "https://idp.example.jp:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://xn--eckwd4c7c.xn--zckzah", "https://xn--eckwd4c7c.xn--zckzah"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(given: str, canonical: str) -> None:
    assert canonical_origin(given) == canonical


@pytest.mark.parametrize(
    "given",
    ["*", "null", "idp.example.jp", "ftp://idp.example.jp", "https://idp.example.jp/login",
     "https://user@idp.example.jp", "https://idp.example.jp?x=1", "http://idp.example.jp",
     "https://idp.example.jp:99999", "https://例え.テスト"],
)  # fmt: skip
def test_anything_but_a_plain_origin_is_refused(given: str) -> None:
    with pytest.raises(OriginSyntaxError):
        canonical_origin(given)


@pytest.mark.parametrize("host", ["127.0.0.1:8003", "localhost:8003", "LOCALHOST:8003"])
def test_loopback_hosts_with_our_port_pass(host: str) -> None:
    assert host_allowed(host, 8003)


@pytest.mark.parametrize(
    "host", [None, "", "127.0.0.1", "127.0.0.1:8004", "evil.example:8003", "127.0.0.2:8003",
             "[::1]:8003", "0.0.0.0:8003", "localhost.evil.example:8003"],
)  # fmt: skip
def test_every_other_host_fails(host: str | None) -> None:
    assert not host_allowed(host, 8003)
