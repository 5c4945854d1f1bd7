"""HTTP errors: a page in Japanese or English for a person's browser, JSON for programs."""

from __future__ import annotations

import pytest
from flask import abort

from tests.login.cards import compile_catalogues

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def app(tmp_path):
    from tests.conftest import drop_schema, idp_test_config, make_app

    compile_catalogues()
    application = make_app(idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3"), tmp_path / "i")

    @application.route("/login/_test/expired")
    def expired():
        abort(400, "This login has expired")

    @application.route("/login/_test/crash")
    def crash():
        raise RuntimeError("an internal detail that must not be shown")

    yield application
    drop_schema(application)


def test_an_unknown_page_is_explained_in_japanese_by_default(app):
    response = app.test_client().get("/no/such/page", headers=BROWSER)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert 'lang="ja"' in html
    assert "このページは存在しません" in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_english_page_is_one_click_away(app):
    html = app.test_client().get("/no/such/page?lang=en", headers=BROWSER).get_data(as_text=True)
    assert 'lang="en"' in html
    assert "This page does not exist" in html


def test_an_expired_flow_says_what_to_do_and_hides_the_detail(app):
    response = app.test_client().get("/login/_test/expired", headers=BROWSER)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "情報は何も提供されていません" in html
    assert "This login has expired" not in html


def test_a_crash_is_a_page_without_internals(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/login/_test/crash", headers=BROWSER)
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "システムで問題が発生しました" in html
    assert "internal detail" not in html


def test_a_wrong_method_on_a_page(app):
    response = app.test_client().put("/authorize", headers=BROWSER)
    assert response.status_code == 405
    assert 'data-status="405"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/token", "/userinfo", "/par", "/selfinfo/v1/income"])
def test_programs_always_get_json(app, path):
    response = app.test_client().put(path, headers=BROWSER)
    assert response.status_code in (404, 405)
    assert response.is_json
    assert response.json["error"]


def test_a_program_without_html_preference_gets_json_anywhere(app):
    response = app.test_client().get("/no/such/page", headers={"Accept": "*/*"})
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_an_authorization_request_from_an_unknown_client_is_a_page(app):
    query = {"response_type": "code", "client_id": "nobody", "redirect_uri": "https://x.example/"}
    response = app.test_client().get("/authorize", query_string=query, headers=BROWSER)
    html = response.get_data(as_text=True)
    assert response.status_code in (400, 401)
    assert response.mimetype == "text/html"
    assert "この要求は完了できません" in html
    assert "invalid_client" in html


def test_an_authorization_error_for_a_program_stays_oauth_json(app):
    query = {"response_type": "code", "client_id": "nobody", "redirect_uri": "https://x.example/"}
    response = app.test_client().get("/authorize", query_string=query, headers={"Accept": "*/*"})
    assert response.json["error"] == "invalid_client"
