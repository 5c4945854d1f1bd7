"""The bridge and the IdP read an origin the same way.

Each canonicalises origins itself (``client_bridge.guard`` for ``--allow-origin``,
``idp.jpki.signature`` for the origin a signature is bound to) and the two must agree, or a
bridge allowed for an IdP would sign for an origin the IdP does not check against. The bridge
does not import the IdP's module: any ``idp`` import runs the IdP's package (its configuration,
logging and server assembly) on the citizen's machine. These properties hold them together.

Where they differ, on purpose: the bridge reads a typed command-line value, so it forgives
surrounding white space and a trailing ``/``, and it allows plain ``http`` on loopback hosts only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from client_bridge import protocol
from client_bridge.guard import LOOPBACK_HOSTS, OriginSyntaxError
from client_bridge.guard import canonical_origin as bridge_origin
from idp.jpki.errors import Malformed
from idp.jpki.signature import canonical_origin as idp_origin
from idp.jpki.signature import signed_value

MANY = settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))

LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?"
HOSTS = st.one_of(
    st.from_regex(rf"{LABEL}(\.{LABEL}){{0,3}}\.?", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=6).map(lambda a: f"[{str(a).upper()}]"),
    st.sampled_from(["localhost", "LocalHost", "127.0.0.1", "xn--eckwd4c7c.xn--zckzah", "例え.jp"]),
    st.just(""),
)
PORTS = st.one_of(
    st.just(""),
    st.sampled_from([":", ":80", ":443", ":0443", ":8443", ":99999", ":-1", ":x"]),
    st.integers(0, 65535).map(lambda p: f":{p}"),
)


@st.composite
def origin_spellings(draw) -> str:
    """``scheme://[user@]host[:port][tail]`` with each part right, wrong or oddly spelled."""
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "Http", "ftp", "ws", ""]))
    user = draw(st.sampled_from(["", "", "", "user@", "u:p@", "@"]))
    tail = draw(st.sampled_from(["", "", "", "/", "/login", "//", "?", "?x=1", "#", "#f"]))
    return f"{scheme}://{user}{draw(HOSTS)}{draw(PORTS)}{tail}"


def _read(canonicalise, error, text: str) -> str | None:
    try:
        return canonicalise(text)
    except error:
        return None


@MANY
@given(origin_spellings())
@example("https://IdP.Example.jp:443")
@example("https://[2001:DB8::1]:8443")
@example("http://localhost:8003")
@example("http://idp.example.jp")
@example("https://idp.example.jp/")
def test_the_bridge_and_the_idp_canonicalise_every_origin_alike(text: str) -> None:
    by_bridge = _read(bridge_origin, OriginSyntaxError, text)
    by_idp = _read(idp_origin, Malformed, text)
    parts = urlsplit(text)
    if by_bridge is not None and by_idp is not None:
        assert by_bridge == by_idp
    elif by_idp is not None:  # refused by the bridge alone: plain http off loopback
        assert parts.scheme == "http"
        assert parts.hostname not in LOOPBACK_HOSTS
    elif by_bridge is not None:  # accepted by the bridge alone: a trailing "/"
        assert parts.path == "/"
        assert idp_origin(parts._replace(path="").geturl()) == by_bridge


@MANY
@given(st.one_of(origin_spellings(), origin_spellings().map(lambda t: f" {t}\n"), st.text()))
def test_an_allowed_origin_is_the_idp_own_canonical_origin(text: str) -> None:
    """What ``--allow-origin`` stores is a fixed point of the IdP's canonicalisation, and the
    bridge's signed value over it is the IdP's, byte for byte."""
    allowed = _read(bridge_origin, OriginSyntaxError, text)
    if allowed is None:
        return
    assert idp_origin(allowed) == allowed
    assert protocol.signed_value(allowed, b"challenge") == signed_value(allowed, b"challenge")
