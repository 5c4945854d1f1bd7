"""The consent core without pages: a screen that decides as each test says.

The screen runs inside the browser's own request, so ``finish_consent`` and ``deny_consent``
see the same session a real consent page would. What is checked: remembered and per-request
consents, partial grants, refusals of decisions that do not fit the request, the record written
before the code, scope and claims reduced to what was granted, and what withdrawal stops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from idp.consent.consenting import deny_consent, finish_consent
from idp.consent.decisions import (
    AUTH_SESSION,
    AUTH_SIGN,
    AUTH_STEP_UP,
    CONSENT_SCREEN,
    ConsentDecision,
    ConsentItem,
    ConsentRequest,
    VerifiedIdentity,
    content_digest,
    decision_problem,
)
from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from idp.oidc.server import SERVER
from idp.services import services
from idp.storage.consents import AccessRecord, Consent
from idp.storage.db import db
from tests.oidc.rp import ISSUER, query

NAME_CLAIMS = json.dumps({"userinfo": {"name": None, "family_name": None, "given_name": None}})
"""Login claims asked for by name (no supported scope asks for any)."""

Decide = Callable[[ConsentRequest], ConsentDecision | None]


@dataclass
class DecidingScreen:
    """Answers each consent request with ``decide`` (None: the citizen declines)."""

    decide: Decide
    seen: list[ConsentRequest] = field(default_factory=list)

    def begin(self, request: ConsentRequest):
        self.seen.append(request)
        decision = self.decide(request)
        return (
            deny_consent(request.id) if decision is None else finish_consent(request.id, decision)
        )


def everything(request: ConsentRequest) -> ConsentDecision:
    return ConsentDecision(tuple(i.id for i in request.items), AUTH_SESSION)


def step_up(granted: Callable[[ConsentRequest], tuple[str, ...]]) -> Decide:
    """A decision with card evidence bound to what is granted (the pages verified the card)."""

    def decide(request: ConsentRequest) -> ConsentDecision:
        items = granted(request)
        evidence = {"content_digest": content_digest(request, items), "serial": "01"}
        return ConsentDecision(items, AUTH_STEP_UP, evidence)

    return decide


@pytest.fixture
def screen(provider) -> Callable[[Decide], DecidingScreen]:
    def install(decide: Decide) -> DecidingScreen:
        services(provider)[CONSENT_SCREEN] = chosen = DecidingScreen(decide)
        return chosen

    return install


def consents(provider) -> list[Consent]:
    with provider.app_context():
        return list(db.session.execute(sa.select(Consent)).scalars())


def test_openid_consent_is_remembered_for_the_next_login(provider, rp, screen):
    chosen = screen(everything)
    rp.tokens(scope="openid")
    rp.tokens(scope="openid")
    assert len(chosen.seen) == 1
    [consent] = consents(provider)
    assert consent.granted() == ["openid"]
    assert not consent.per_request


def test_prompt_consent_asks_again(rp, screen):
    chosen = screen(everything)
    rp.tokens(scope="openid")
    rp.tokens(scope="openid", prompt="consent")
    assert len(chosen.seen) == 2


def test_prompt_none_with_consent_needed_is_consent_required(rp, screen):
    screen(everything)
    rp.tokens(scope="openid")
    params = query(rp.authorize(scope="openid selfinfo:income", prompt="none").headers["Location"])
    assert params["error"] == "consent_required"
    assert params["iss"] == ISSUER


def test_self_information_is_asked_every_time_and_needs_the_card(provider, rp, screen):
    chosen = screen(step_up(lambda r: tuple(i.id for i in r.items)))
    for _ in range(2):
        token = rp.tokens(scope="openid selfinfo:income")
        assert token["scope"] == "openid selfinfo:income"
    assert len(chosen.seen) == 2
    records = consents(provider)
    assert len(records) == 2
    assert all(c.per_request and c.auth_method == AUTH_STEP_UP for c in records)


def test_an_unticked_optional_item_is_not_in_the_token(provider, rp, screen):
    screen(step_up(lambda _: ("openid", "selfinfo:household")))
    token = rp.tokens(scope="openid selfinfo:income selfinfo:household")
    assert token["scope"] == "openid selfinfo:household"
    [consent] = consents(provider)
    assert consent.granted() == ["openid", "selfinfo:household"]


def test_unticked_claims_are_not_released(provider, rp, screen):
    screen(lambda _: ConsentDecision(("openid", "claim:name"), AUTH_SESSION))
    access = rp.tokens(scope="openid", claims=NAME_CLAIMS)["access_token"]
    body = rp.http.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).json
    assert body["name"]
    assert "family_name" not in body
    assert "given_name" not in body


def test_deny_is_access_denied_and_records_nothing(provider, rp, screen):
    screen(lambda _: None)
    params = query(rp.authorize(scope="openid").headers["Location"])
    assert params["error"] == "access_denied"
    assert params["iss"] == ISSUER
    assert consents(provider) == []


@pytest.mark.parametrize(
    "decide",
    [
        pytest.param(lambda _: ConsentDecision((), AUTH_SESSION), id="required-left-out"),
        pytest.param(
            lambda _: ConsentDecision(("openid", "selfinfo:pension"), AUTH_SESSION),
            id="item-not-requested",
        ),
        pytest.param(
            lambda _: ConsentDecision(("openid", "selfinfo:income"), AUTH_SESSION),
            id="self-information-without-card",
        ),
        pytest.param(
            lambda _: ConsentDecision(
                ("openid", "selfinfo:income"), AUTH_STEP_UP, {"content_digest": "0" * 64}
            ),
            id="card-signature-over-other-content",
        ),
        pytest.param(
            lambda r: ConsentDecision(
                ("openid", "selfinfo:income"),
                AUTH_STEP_UP,
                {"content_digest": content_digest(r, ("openid",))},
            ),
            id="evidence-for-other-items",
        ),
    ],
)
def test_a_decision_that_does_not_fit_is_refused(provider, rp, screen, decide):
    screen(decide)
    params = query(rp.authorize(scope="openid selfinfo:income").headers["Location"])
    assert params["error"] == "access_denied"
    assert consents(provider) == []


IDENTITY = VerifiedIdentity("名前", "住所", "1980-04-01", "male", "CN=CA", "01", 0)


def _asking(*items: str, identity_required: bool = False) -> ConsentRequest:
    listed = (ConsentItem("openid", required=True), *map(ConsentItem, items))
    return ConsentRequest(
        "t" * 32, "a", "c", "RP", "p", None, listed, 0, identity_required=identity_required
    )


CARD_ITEMS = {
    "self-information": _asking("selfinfo:income"),
    "verified-claim": _asking("verified:name"),
    "identity-acr": _asking(identity_required=True),
}


@pytest.mark.parametrize("request_", CARD_ITEMS.values(), ids=CARD_ITEMS.keys())
@pytest.mark.parametrize("method", ["test", AUTH_SESSION, AUTH_STEP_UP, AUTH_SIGN, ""])
def test_without_card_evidence_no_method_approves_what_needs_the_card(request_, method):
    granted = tuple(item.id for item in request_.items)
    for identity in (None, IDENTITY):
        decision = ConsentDecision(granted, method, None, identity)
        assert decision_problem(request_, decision) is not None


@pytest.mark.parametrize("request_", CARD_ITEMS.values(), ids=CARD_ITEMS.keys())
def test_a_method_other_than_a_card_signature_is_refused_even_with_evidence(request_):
    granted = tuple(item.id for item in request_.items)
    evidence = {"content_digest": content_digest(request_, granted)}
    for method in ("test", AUTH_SESSION, "card", AUTH_SIGN.upper()):
        decision = ConsentDecision(granted, method, evidence, IDENTITY)
        assert decision_problem(request_, decision) is not None
    assert (
        decision_problem(request_, ConsentDecision(granted, AUTH_SIGN, evidence, IDENTITY)) is None
    )


@pytest.mark.parametrize("acr", [None, ACR_SIGN_IDENTITY])
def test_a_test_method_decision_is_access_denied_and_records_nothing(provider, rp, screen, acr):
    """The "test" approval tests once used: the product refuses it like any card-less one."""
    screen(lambda r: ConsentDecision(tuple(i.id for i in r.items), "test", None, IDENTITY))
    scope = "openid" if acr else "openid selfinfo:income"
    response = rp.authorize(scope=scope, **({"acr_values": acr} if acr else {}))
    params = query(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert "code" not in params
    assert consents(provider) == []


def test_the_record_exists_before_the_code_and_the_history_says_what_went(provider, rp, screen):
    seen_at_issue: list[int] = []

    def decide(request: ConsentRequest) -> ConsentDecision:
        return ConsentDecision(("openid",), AUTH_SESSION)

    screen(decide)
    code = rp.login_code(scope="openid")
    seen_at_issue.append(len(consents(provider)))
    assert seen_at_issue == [1]
    assert rp.token(code).status_code == 200
    with provider.app_context():
        [record] = db.session.execute(sa.select(AccessRecord)).scalars()
        [consent] = db.session.execute(sa.select(Consent)).scalars()
        assert (record.kind, record.item, record.consent_id) == ("token", "openid", consent.id)
        assert record.client_name == "RP"


def test_a_consent_transaction_is_answered_once(provider, rp):
    from werkzeug.exceptions import HTTPException

    outcomes: list[int] = []

    class TwiceScreen:
        def begin(self, request: ConsentRequest):
            answer = finish_consent(request.id, everything(request))
            try:
                finish_consent(request.id, everything(request))
            except HTTPException as again:
                outcomes.append(again.code)
            try:
                deny_consent(request.id)
            except HTTPException as denied:
                outcomes.append(denied.code)
            return answer

    services(provider)[CONSENT_SCREEN] = TwiceScreen()
    assert "code" in query(rp.authorize(scope="openid").headers["Location"])
    assert outcomes == [400, 400]
    assert len(consents(provider)) == 1


def test_withdrawn_consent_ends_refresh_and_self_information_scope(provider, rp, screen):
    screen(step_up(lambda r: tuple(i.id for i in r.items)))
    token = rp.tokens(scope="openid selfinfo:income")
    with provider.app_context():
        consent = db.session.execute(sa.select(Consent)).scalar_one()
        consent.revoked_at = consent.created_at
        db.session.commit()
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    refused = rp.http.post("/token", data=form, headers=headers)
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_grant"


def test_purpose_is_checked_and_shown(rp, screen):
    chosen = screen(everything)
    rp.tokens(scope="openid", purpose="住宅ローンの審査")
    assert chosen.seen[0].purpose == "住宅ローンの審査"
    params = query(rp.authorize(scope="openid", purpose="x").headers["Location"])
    assert params["error"] == "invalid_request"


def test_a_different_purpose_is_asked_again(rp, screen):
    chosen = screen(everything)
    rp.tokens(scope="openid", purpose="mortgage screening")
    rp.tokens(scope="openid", purpose="mortgage screening")
    rp.tokens(scope="openid", purpose="credit card application")
    assert [r.purpose for r in chosen.seen] == ["mortgage screening", "credit card application"]


def test_userinfo_with_claims_is_in_the_access_history(provider, rp, screen):
    screen(everything)
    access = rp.tokens(scope="openid", claims=NAME_CLAIMS)["access_token"]
    assert (
        rp.http.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    )
    with provider.app_context():
        kinds = [r.kind for r in db.session.execute(sa.select(AccessRecord)).scalars()]
        userinfo = db.session.execute(
            sa.select(AccessRecord).filter_by(kind="userinfo")
        ).scalar_one()
    assert kinds.count("userinfo") == 1
    assert set(userinfo.item.split()) == {"claim:name", "claim:family_name", "claim:given_name"}


def test_sign_out_everywhere_ends_every_session_of_the_account(provider, make_rp):
    from idp.oidc.logout import end_all_sessions

    first, second = make_rp(), make_rp(http_client=provider.test_client())
    tokens = [first.tokens(scope="openid"), second.tokens(scope="openid")]
    with provider.app_context():
        shared = services(provider)[SERVER].services
        assert end_all_sessions(shared, "test-account-1") == 2
    for relying_party, token in zip((first, second), tokens, strict=True):
        form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        headers: dict = {}
        relying_party.auth(form, headers)
        assert relying_party.http.post("/token", data=form, headers=headers).status_code == 400
        params = query(relying_party.authorize(scope="openid", prompt="none").headers["Location"])
        assert params["error"] == "login_required"


def test_the_grant_record_names_account_and_consent_but_the_token_does_not(provider, rp, screen):
    from joserfc import jws

    screen(everything)
    access = rp.tokens(scope="openid")["access_token"]
    claims = json.loads(jws.extract_compact(access.encode()).payload)
    assert "account_id" not in claims
    assert "consent_id" not in claims
    assert "test-account-1" not in json.dumps(claims)


@pytest.mark.parametrize(
    ("withdrawn_at", "refused"),
    [(-1, False), (0, True), (1, True), (-999_999_999, False), (999_999_999, True)],
)
def test_a_withdrawal_in_the_same_second_is_judged_by_which_came_first(
    provider, rp, screen, withdrawn_at, refused
):
    """The withdrawal marker is compared with the token's issue time to the nanosecond, not to
    its ``iat`` second: a token issued just after a withdrawal (a new login) works, one issued
    at or just before it does not, even within the same second."""
    from idp.oidc.tokens import jti_of, load_grant, mark_withdrawn

    screen(everything)
    access = rp.tokens(scope="openid")["access_token"]
    with provider.app_context():
        store = services(provider)[SERVER].services.store()
        grant = load_grant(store, jti_of(access))
        issued = grant["issued_ns"]
        mark_withdrawn(store, grant["client_id"], grant["account_id"], issued + withdrawn_at, 60)
    response = rp.http.get("/userinfo", headers={"Authorization": "Bearer " + access})
    assert response.status_code == (401 if refused else 200), response.get_data(as_text=True)
    if refused:
        assert "withdrew" in response.headers["WWW-Authenticate"]
