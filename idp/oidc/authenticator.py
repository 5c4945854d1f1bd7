"""The login step as an interface, and the acr values this IdP defines.

The OIDC core validates an authorization request, then hands a ``LoginTransaction`` to the
configured ``Authenticator`` (``services()[AUTHENTICATOR]``: the card login of
``idp.login``; the test suites' cardless one in ``tests/cardless.py``). It does its own pages and,
when the person is proven, calls ``idp.oidc.authorize.finish_login`` with a ``LoginResult``.
Nothing here knows about cards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask.typing import ResponseReturnValue

from ..services import Service

ACR_CARD_AUTH = "urn:jpki-idp:acr:card-auth"
"""Login with the My Number Card's user-authentication certificate (利用者証明用電子証明書):
possession of the card and knowledge of its 4-digit PIN, certificate valid and not revoked."""

ACR_SIGN_IDENTITY = "urn:jpki-idp:acr:sign-cert-identity"
"""Identity verification with the signing certificate (署名用電子証明書): as above with the
6–16 character PIN, and the basic four facts read from a valid, unrevoked certificate."""

ACR_VALUES = (ACR_CARD_AUTH, ACR_SIGN_IDENTITY)
"""Supported acr values, weakest first. Anything else in ``acr_values`` is refused."""

AMR_CARD = ("hwk", "pin", "sc", "mfa")
"""RFC 8176 methods of both card logins: hardware key, PIN, smart card, two factors."""


@dataclass(frozen=True)
class LoginTransaction:
    """What the authenticator needs to run one login; ``id`` resumes it."""

    id: str
    client_name: str
    acr: str
    """The acr the login must reach (chosen from the request's acr_values, else the default)."""
    login_hint: str | None = None
    ui_locales: str = ""
    """The relying party's language hint (OIDC Core §3.1.2.1), at most 100 characters."""
    client_id: str = ""
    """The client, whose name a page may show in its own language; empty for the IdP's own."""


@dataclass(frozen=True)
class LoginResult:
    """A proven person: an opaque internal account id, never shown to relying parties."""

    account_id: str
    acr: str
    auth_time: int
    amr: tuple[str, ...] = AMR_CARD
    claims: Mapping[str, Any] = field(default_factory=dict)
    """Claims the login established and may be released with consent (e.g. verified name)."""
    certificate: str = ""
    """The user-authentication certificate the login proved, as ``<issuer hash>:<serial>`` (the
    binding's key, ``idp.jpki.status``): sessions, codes and refresh tokens of this login ask
    ``CARD_STANDING`` whether it still stands. Empty for a login without a card."""


class Authenticator(Protocol):
    """A way to prove who the person is, chosen by configuration."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        """Start the login; eventually some request calls ``finish_login(transaction.id, …)``."""


AUTHENTICATOR: Service[Authenticator] = Service("authenticator")
"""How the app's people log in: registered by ``idp.login`` (the card), or by a test suite."""


CardStanding = Callable[[str, int], str | None]
"""``(certificate, auth_time)`` of a login (``LoginResult.certificate`` and ``auth_time``): None
while the card it used stands, else why not, in words for an ``error_description``. Answered from
what the IdP already holds, never by asking the CA: it runs on every refresh."""


def _stands(_certificate: str, _auth_time: int) -> str | None:
    return None


CARD_STANDING: Service[CardStanding] = Service("card standing", default=lambda: _stands)
"""Whether a login's card still stands (``idp.cardstatus``, which learns of revocations and
holds); the protocol asks it before reusing a session, redeeming a code and every refresh."""
