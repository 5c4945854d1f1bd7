"""A document's title per language (``title#ja``, ``title#en``): checked as ``title`` is, and
shown in the page's language on the review page, in the bridge window's texts and in the
citizen's access history, with the untagged title where none was given."""

from __future__ import annotations

import pytest

from tests.documents.conftest import open_review

TITLES = {"title#ja": "住宅ローン契約書 第1号", "title#en": "Mortgage agreement No. 1"}


def _review(bank, document_id: str, language: str):
    response = bank.rp.http.get(f"/documents/{document_id}/review?lang={language}")
    assert response.status_code == 200
    return open_review(bank.rp.http, document_id)


@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [("ja", "住宅ローン契約書 第1号", "Mortgage agreement No. 1"),
     ("en", "Mortgage agreement No. 1", "住宅ローン契約書 第1号")],
)  # fmt: skip
def test_the_review_page_and_the_bridge_show_the_title_of_the_pages_language(
    bank, language, shown, hidden
):
    answer = bank.document(**TITLES)
    page = _review(bank, answer["document_id"], language)
    assert f'<dd id="document-title">{shown}</dd>' in page.html
    assert hidden not in page.html
    assert "住宅ローン金銭消費貸借契約書" not in page.html  # the untagged title is the fallback
    prepared = page.prepare()
    assert prepared.status_code == 200, prepared.get_data(as_text=True)
    assert prepared.json["title"] == shown


def test_without_a_title_in_the_pages_language_the_untagged_title_is_shown(bank):
    answer = bank.document(**{"title#ja": "住宅ローン契約書 第1号"})
    page = _review(bank, answer["document_id"], "en")
    assert '<dd id="document-title">住宅ローン金銭消費貸借契約書</dd>' in page.html
    assert page.prepare().json["title"] == "住宅ローン金銭消費貸借契約書"


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"title#fr": "Contrat"}, "title#fr: a title's language tag must be ja or en"),
        ({"title#": "x"}, "title#: a title's language tag must be ja or en"),
        ({"title#ja-JP": "a", "title#ja": "b"}, "title#ja-JP: only one title per language"),
        ({"title#en": "t" * 121}, "title#en must be at most 120 characters"),
        ({"title#ja": "   "}, "title#ja must not be empty"),
        ({"title#en": 5}, "title#en must be a string"),
        ({"title#ja": "契約書\u202e"}, "title#ja must not contain control or invisible characters"),
    ],
)
def test_a_bad_title_per_language_is_refused_as_the_untagged_title_is(app, bank, change,
                                                                     description):  # fmt: skip
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    body = {"sub": bank.sub("citizen-1"), "title": "契約書", "summary": "s",
            "digest": "A" * 43, "redirect_uri": "https://bank.example/contracts/done"}  # fmt: skip
    response = bank.submit(**body, **change)
    assert response.status_code == 400, response.json
    assert response.json == {"error": "invalid_request", "error_description": description}
    with app.app_context():
        assert db.session.query(DocumentRequest).count() == 0


def test_the_untagged_title_gets_the_same_error_for_the_same_fault(bank):
    body = {"sub": bank.sub("citizen-1"), "title": "t" * 121, "summary": "s",
            "digest": "A" * 43, "redirect_uri": "https://bank.example/contracts/done"}  # fmt: skip
    response = bank.submit(**body)
    assert response.json["error_description"] == "title must be at most 120 characters"


def test_the_access_record_keeps_both_titles_and_the_history_shows_the_pages(app, bank, world):
    from idp.account.presentation import items
    from idp.storage.consents import AccessRecord
    from idp.storage.db import db

    answer = bank.document(**TITLES)
    assert open_review(bank.rp.http, answer["document_id"]).sign(world.good).status_code == 303
    with app.app_context():
        (record,) = db.session.query(AccessRecord).all()
        assert record.item == "document:住宅ローン金銭消費貸借契約書"
    for language, title in [("ja", "住宅ローン契約書 第1号"), ("en", "Mortgage agreement No. 1")]:
        with app.test_request_context(f"/account?lang={language}"):
            (label,) = items(record.item, record.titles)
            assert title in label
    with app.test_request_context("/account?lang=en"):
        (label,) = items(record.item)  # a record from before titles per language
        assert "住宅ローン金銭消費貸借契約書" in label
