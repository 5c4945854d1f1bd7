"""``POST /documents`` and ``GET /documents/<id>``: client authentication, every refused member,
and who may read a document."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.documents.conftest import (
    CONTRACT,
    ISSUER,
    REDIRECT,
    b64url,
    register,
    sample_pdf,
)
from tests.json_values import JSON


def _valid(bank, **changes) -> dict:
    body = {
        "sub": bank.sub("citizen-1"),
        "title": "住宅ローン契約書",
        "summary": "借入額 3,000万円",
        "digest": b64url(hashlib.sha256(CONTRACT).digest()),
        "redirect_uri": REDIRECT,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_a_digest_submission_answers_where_to_send_the_citizen(bank):
    before = int(time.time())
    answer = bank.document()
    assert set(answer) == {"document_id", "review_url", "expires_at", "digest"}
    assert answer["review_url"] == f"{ISSUER}/documents/{answer['document_id']}/review"
    assert answer["digest"] == b64url(hashlib.sha256(CONTRACT).digest())
    assert before + 900 <= answer["expires_at"] <= int(time.time()) + 900


def test_a_pdf_submission_binds_the_sha256_of_the_pdf(bank):
    pdf = sample_pdf()
    answer = bank.document(digest=None, pdf=base64.b64encode(pdf).decode(), expires_in=3600)
    assert answer["digest"] == b64url(hashlib.sha256(pdf).digest())
    assert answer["expires_at"] >= int(time.time()) + 3599


def test_the_status_of_a_pending_document(bank):
    answer = bank.document()
    status = bank.status(answer["document_id"])
    assert status.status_code == 200
    assert status.headers["Cache-Control"] == "no-store"
    assert status.json == {
        "document_id": answer["document_id"],
        "status": "pending",
        "title": "住宅ローン金銭消費貸借契約書",
        "digest": answer["digest"],
        "expires_at": answer["expires_at"],
    }


def test_another_client_cannot_see_the_document(app, bank):
    answer = bank.document()
    stranger = register(app, "Other Bank")
    other = type(bank)(app, stranger)
    for suffix in ("", "/signed.pdf"):
        response = other.status(answer["document_id"], suffix)
        assert (response.status_code, response.json["error"]) == (404, "not_found")


def test_an_unknown_document_is_not_found(bank):
    assert bank.status("A" * 43).status_code == 404
    assert bank.status("x" * 200).status_code == 404


def test_a_digest_document_has_no_signed_pdf(bank):
    answer = bank.document()
    assert bank.status(answer["document_id"], "/signed.pdf").status_code == 404


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "private_key_jwt"])
def test_without_client_authentication_the_call_is_invalid_client(app, auth_method):
    bank = type_bank(app, auth_method)
    body = _valid(bank)
    for response in (
        app.test_client().post("/documents", json=body),
        app.test_client().get("/documents/" + "A" * 43),
    ):
        assert response.status_code == 400  # no Basic challenge: nothing tried HTTP Basic
        assert response.json["error"] == "invalid_client"
        assert "WWW-Authenticate" not in response.headers


def type_bank(app, auth_method):
    from tests.documents.conftest import Bank

    return Bank(app, register(app, auth_method=auth_method))


def test_a_wrong_client_secret_is_invalid_client(app, bank):
    raw = base64.b64encode(f"{bank.rp.client_id}:wrong".encode()).decode()
    response = app.test_client().post(
        "/documents", json=_valid(bank), headers={"Authorization": "Basic " + raw}
    )
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("header", ["Basic ", "Basic !!!", "Bearer"])
def test_a_malformed_authorization_header_is_invalid_client(app, bank, header):
    response = app.test_client().post(
        "/documents", json=_valid(bank), headers={"Authorization": header}
    )
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")


@pytest.mark.parametrize("audience", [ISSUER, ISSUER + "/documents", ISSUER + "/token"])
def test_private_key_jwt_is_accepted_for_the_issuer_or_the_documents_url(app, audience):
    bank = type_bank(app, "private_key_jwt")
    body = _valid(bank)
    body["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    body["client_assertion"] = bank.rp.assertion(aud=audience)
    response = app.test_client().post("/documents", json=body)
    assert response.status_code == 201, response.json
    query = {"client_assertion_type": body["client_assertion_type"],
             "client_assertion": bank.rp.assertion(aud=audience)}  # fmt: skip
    status = app.test_client().get(f"/documents/{response.json['document_id']}", query_string=query)
    assert status.json["status"] == "pending"


@pytest.mark.parametrize(
    "claims",
    [{"aud": "https://other.example"}, {"aud": ISSUER + "/documents/x"}, {"exp": 1},
     {"iss": "someone-else"}],
)  # fmt: skip
def test_a_bad_client_assertion_is_invalid_client(app, claims):
    bank = type_bank(app, "private_key_jwt")
    body = _valid(bank)
    body["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    body["client_assertion"] = bank.rp.assertion(**claims)
    response = app.test_client().post("/documents", json=body)
    assert (response.status_code, response.json["error"]) == (400, "invalid_client")
    assert "WWW-Authenticate" not in response.headers


def test_a_replayed_client_assertion_is_invalid_client(app):
    bank = type_bank(app, "private_key_jwt")
    body = _valid(bank)
    body["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    body["client_assertion"] = bank.rp.assertion(aud=ISSUER + "/documents")
    assert app.test_client().post("/documents", json=body).status_code == 201
    replay = app.test_client().post("/documents", json=body)
    assert (replay.status_code, replay.json["error"]) == (400, "invalid_client")


def test_a_basic_client_cannot_use_an_assertion_as_well(app, bank):
    body = _valid(bank)
    body["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    body["client_assertion"] = "a.b.c"
    response = bank.submit(**body)
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


BAD_MEMBERS = [
    ({"sub": None}, "sub"),
    ({"sub": 5}, "sub"),
    ({"sub": "a b"}, "sub"),
    ({"title": None}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "t" * 121}, "title"),
    ({"title": "契約書\u202e"}, "title"),
    ({"title": "契約\n書"}, "title"),
    ({"summary": "s" * 1001}, "summary"),
    ({"summary": "zero\u200bwidth"}, "summary"),
    ({"summary": ["a"]}, "summary"),
    ({"digest": None}, "either pdf or digest"),
    ({"pdf": "JVBERi0="}, "either pdf or digest"),
    ({"digest": "A" * 42}, "digest"),
    ({"digest": "A" * 43 + "="}, "digest"),
    ({"digest": "A" * 42 + "B"}, "digest"),
    ({"digest": b64url(bytes(33))}, "digest"),
    ({"digest": None, "pdf": "not base64!"}, "pdf"),
    ({"digest": None, "pdf": base64.b64encode(b"hello").decode()}, "pdf"),
    ({"digest": None, "pdf": base64.b64encode(b"%PDF-1.7\ngarbage").decode()}, "pdf"),
    ({"digest": None, "pdf": ""}, "pdf"),
    ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri"),
    ({"redirect_uri": REDIRECT + "/"}, "redirect_uri"),
    ({"redirect_uri": None}, "redirect_uri"),
    ({"state": "é"}, "state"),
    ({"state": "s" * 513}, "state"),
    ({"expires_in": 0}, "expires_in"),
    ({"expires_in": 3601}, "expires_in"),
    ({"expires_in": True}, "expires_in"),
    ({"expires_in": "900"}, "expires_in"),
    ({"origin": "https://bank.example"}, "origin"),
]


@pytest.mark.parametrize(("change", "named"), BAD_MEMBERS)
def test_each_bad_member_is_invalid_request_naming_it(bank, change, named):
    response = bank.submit(**_valid(bank, **change))
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_request"
    assert named in response.json["error_description"]


def test_a_pdf_over_10_mb_is_refused(bank):
    big = base64.b64encode(b"%PDF-1.7\n" + bytes(10 * 1024 * 1024)).decode()
    response = bank.submit(**_valid(bank, digest=None, pdf=big))
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")
    assert "10 MB" in response.json["error_description"]


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b"null"])
def test_a_body_that_is_not_a_json_object_is_invalid_request(app, bank, data):
    headers = bank.headers({})
    headers["Content-Type"] = "application/json"
    response = app.test_client().post("/documents", data=data, headers=headers)
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


def test_a_refused_submission_stores_nothing(app, bank):
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    bank.submit(**_valid(bank, title="t" * 121))
    with app.app_context():
        assert db.session.query(DocumentRequest).count() == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(app, bank):
    headers = bank.headers({})
    headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(20 * 1024 * 1024)
    response = app.test_client().post("/documents", data=b"{}", headers=headers)
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


def _documents(bank) -> int:
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    with bank.app.app_context():
        return db.session.query(DocumentRequest).count()


@pytest.mark.parametrize(
    "raw", ["[" * 3000 + "]" * 3000, '{"a":' * 3000 + "1" + "}" * 3000, '{"expires_in": NaN}']
)
def test_a_deep_or_nonstandard_json_body_is_invalid_request(bank, raw):
    """A body nested 3,000 deep raised RecursionError in Flask's get_json (a 500)."""
    response = bank.app.test_client().post(
        "/documents", data=raw, content_type="application/json", headers=bank.headers({})
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert _documents(bank) == 0


MEMBERS = ["sub", "title", "summary", "digest", "pdf", "redirect_uri", "state", "expires_in"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_json_in_any_member_is_refused_or_accepted_never_a_500(bank, data):
    """The submission parser: any member replaced by any JSON value, or any JSON body."""
    from authlib.oauth2.rfc6749 import OAuth2Error

    from idp.documents.submission import parse
    from idp.oidc.clients import find_client

    body = data.draw(
        st.one_of(JSON, st.sampled_from(MEMBERS).flatmap(
            lambda member: JSON.map(lambda value: _valid(bank, **{member: value})))
        )
    )  # fmt: skip
    with bank.app.test_request_context(), contextlib.suppress(OAuth2Error):
        parse(body, find_client(bank.rp.client_id))
