"""Every consent item has plain words in Japanese and English, and an unknown id
still reads as something a person can understand."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from idp.consent.items import LABELS, describe, kind
from idp.oidc.claims import SELFINFO_CATEGORIES
from idp.web import i18n
from tests.login.cards import compile_catalogues

KNOWN = [
    "openid",
    *(
        f"claim:{c}"
        for c in ("name", "family_name", "given_name", "birthdate", "gender", "address")
    ),
    *(f"selfinfo:{c}" for c in SELFINFO_CATEGORIES),
    *(f"verified:{c}" for c in ("name", "address", "birthdate", "gender")),
]


@pytest.fixture(scope="module")
def context():
    compile_catalogues()
    app = Flask(__name__)
    i18n.init_app(app)
    with app.test_request_context("/"):
        yield


@pytest.mark.parametrize("item", KNOWN)
def test_every_known_item_has_distinct_words_in_both_languages(context, item):
    with force_locale("en"):
        english = describe(item)
    with force_locale("ja"):
        japanese = describe(item)
    assert english
    assert japanese
    assert english != japanese
    assert item not in english


def test_every_self_information_category_is_labelled():
    assert all(f"selfinfo:{c}" in LABELS for c in SELFINFO_CATEGORIES)


def test_labels_are_distinct(context):
    with force_locale("en"):
        assert len({describe(i) for i in KNOWN}) == len(KNOWN)


def test_the_japanese_words_for_self_information_are_mynaportals(context):
    with force_locale("ja"):
        assert "住民税の課税・所得" in describe("selfinfo:income")
        assert "世帯情報" in describe("selfinfo:household")
        assert "医療保険の資格情報" in describe("selfinfo:health_insurance")
        assert "年金関係情報" in describe("selfinfo:pension")
        assert "児童手当関係情報" in describe("selfinfo:child_benefit")
        assert "署名用電子証明書" in describe("verified:address")


@pytest.mark.parametrize(
    ("item", "group", "shown"),
    [
        ("selfinfo:tax_refund", "selfinfo", "tax_refund"),
        ("verified:nationality", "verified", "nationality"),
        ("claim:email", "claim", "email"),
        ("weird", "other", "weird"),
    ],
)
def test_an_unknown_item_still_names_itself(context, item, group, shown):
    with force_locale("en"):
        assert shown in describe(item)
    with force_locale("ja"):
        assert shown in describe(item)
        assert describe(item) != shown
    assert kind(item) == group


def test_openid_is_the_identifier(context):
    assert kind("openid") == "identifier"
    with force_locale("en"):
        assert "not your My Number" in describe("openid")
