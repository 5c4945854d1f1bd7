"""Each claim's own purpose (OIDC4IDA per-claim ``purpose``) under its item on the consent page,
labelled, escaped, in Japanese and English; the request-wide purpose stays where it was."""

from __future__ import annotations

import re

from tests.consent.conftest import PURPOSE
from tests.verified.helpers import claims_param, verified

NAME_PURPOSE = "口座開設の本人確認のため"
BIRTHDATE_PURPOSE = "To check that you are of age"


def items_of(html: str) -> dict[str, str]:
    """Item id → the markup of its list entry."""
    return dict(re.findall(r'<li data-item="([^"]+)">(.*?)</li>', html, flags=re.S))


def asked(**purposes) -> str:
    claims = {"given_name": None, "birthdate": None, "gender": None}
    claims.update({name: {"purpose": text} for name, text in purposes.items()})
    return claims_param(id_token=verified(claims))


def test_each_purpose_is_shown_under_its_own_item_in_japanese(consent_page):
    page = consent_page(claims=asked(given_name=NAME_PURPOSE, birthdate=BIRTHDATE_PURPOSE))
    items = items_of(page.html)
    assert (
        f'<span class="item-purpose" id="item-purpose-2">利用目的：{NAME_PURPOSE}</span>'
        in (items["verified:name"])
    )
    assert f"利用目的：{BIRTHDATE_PURPOSE}" in items["verified:birthdate"]
    assert NAME_PURPOSE not in items["verified:birthdate"]
    assert f'<dd id="purpose">{PURPOSE}</dd>' in page.html  # the request-wide one stays


def test_items_without_a_purpose_show_none(consent_page):
    page = consent_page(claims=asked(given_name=NAME_PURPOSE))
    items = items_of(page.html)
    for item in ("openid", "verified:birthdate", "verified:gender"):
        assert "item-purpose" not in items[item]
        assert "利用目的" not in items[item]
    assert page.html.count('class="item-purpose"') == 1


def test_the_purpose_describes_its_checkbox(consent_page):
    page = consent_page(claims=asked(birthdate=BIRTHDATE_PURPOSE))
    entry = items_of(page.html)["verified:birthdate"]
    [index] = re.findall(r'id="item-purpose-(\d+)"', entry)
    assert f'aria-describedby="optional-{index} item-purpose-{index}"' in entry
    assert 'aria-describedby="optional-2"' in page.html  # name: no purpose, no reference


def test_english_by_ui_locales_and_by_the_switch(consent_page):
    page = consent_page(ui_locales="en", claims=asked(given_name=NAME_PURPOSE))
    assert f"Purpose: {NAME_PURPOSE}" in items_of(page.html)["verified:name"]
    japanese = page.http.get(page.path + "?lang=ja").get_data(as_text=True)
    assert f"利用目的：{NAME_PURPOSE}" in items_of(japanese)["verified:name"]
    english = page.http.get(page.path + "?lang=en").get_data(as_text=True)
    assert f"Purpose: {NAME_PURPOSE}" in items_of(english)["verified:name"]


def test_a_purpose_is_the_services_text_and_is_escaped(consent_page):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = consent_page(claims=asked(gender=hostile))
    entry = items_of(page.html)["verified:gender"]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in (
        entry
    )
    assert "<script>alert" not in page.html
    assert "<img" not in page.html


def test_a_bad_purpose_never_reaches_the_page(rp):
    response = rp.authorize(claims=asked(given_name="ab"))
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["Location"]
    assert "/consent/" not in response.headers["Location"]
