"""Every citizen page says who runs the IdP: the operator's name in the page's language, its
privacy policy and contact, and the 24-hour number for a lost card (``[operator]``); production
refuses to start without them; the IdP has a home page to come back to."""

from __future__ import annotations

import dataclasses
import re

import pytest

from idp.config import ConfigError, OperatorConfig
from tests.conftest import drop_schema, idp_test_config, make_app, operator_config


@pytest.fixture
def operated(tmp_path):
    config = idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3", operator=operator_config())
    app = make_app(config, tmp_path / "instance")
    yield app
    drop_schema(app)


def _footer(html: str) -> str:
    found = re.search(r'<footer id="operator">(.*?)</footer>', html, re.S)
    assert found is not None, html
    return found.group(1)


@pytest.mark.parametrize("path", ["/", "/account/consents/nope/revoke", "/consent/nope"])
def test_every_page_names_the_operator_its_policy_contact_and_loss_number(operated, path):
    http = operated.test_client()
    japanese = _footer(http.get(path + "?lang=ja").get_data(as_text=True))
    assert "このログインサービスはテスト運営機構が運営しています。" in japanese
    privacy, contact = "https://operator.example.jp/privacy", "https://operator.example.jp/contact"
    assert f'<a href="{privacy}" id="privacy-link">プライバシーポリシー' in japanese
    assert f'<a href="{contact}" id="contact-link">お問い合わせ' in japanese
    assert "24時間365日" in japanese
    assert '<a href="tel:0120111222">0120-111-222</a>' in japanese
    english = _footer(http.get(path + "?lang=en").get_data(as_text=True))
    assert "This login service is run by Test Operator." in english
    assert "テスト運営機構" not in english
    assert f'<a href="{privacy}" id="privacy-link">Privacy policy' in english


def test_a_missing_setting_is_left_out_outside_production(tmp_path):
    half = OperatorConfig(name_ja="テスト運営機構")
    config = idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3", operator=half)
    app = make_app(config, tmp_path / "instance")
    try:
        footer = _footer(app.test_client().get("/?lang=en").get_data(as_text=True))
        assert "run by テスト運営機構" in footer  # the other language's name rather than none
        assert "privacy-link" not in footer
        assert "tel:" not in footer
    finally:
        drop_schema(app)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name_ja": ""}, "operator.name_ja"),
        ({"name_en": " "}, "operator.name_en"),
        ({"privacy_policy_url": ""}, "operator.privacy_policy_url"),
        ({"contact_url": "http://operator.example.jp/contact"}, "operator.contact_url .*https"),
        ({"loss_report_phone": ""}, "operator.loss_report_phone"),
    ],
)
def test_production_refuses_to_start_without_the_operator(change, reason):
    from idp.config import load_config
    from tests.oidc.test_production_bounds import PRODUCTION

    production = load_config(PRODUCTION)
    assert production.operator.name_ja  # the template fills the block
    broken = dataclasses.replace(
        production, operator=dataclasses.replace(production.operator, **change)
    )
    with pytest.raises(ConfigError, match=reason):
        broken.check()


def test_the_home_page_says_what_this_is_and_leads_to_the_account(operated):
    http = operated.test_client()
    japanese = http.get("/")
    assert japanese.status_code == 200
    html = japanese.get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "マイナンバーカードでサービスにログイン" in html
    assert 'href="/account" id="account-link"' in html
    english = http.get("/?lang=en").get_data(as_text=True)
    assert "Log in to services with your My Number Card" in english
    assert 'id="home-link"' in english
