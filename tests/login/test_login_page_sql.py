"""The login page names the service from the protocol layer's client snapshot: it asks the
database nothing, and still shows a name changed in this process on the next page."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from idp.storage.db import db


@pytest.fixture
def named_rp(card_app, rp):
    from idp.oidc.clients import register_client

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank",
            [rp.redirect_uri],
            "client_secret_basic",
            localized={"client_name#ja": "サンプル銀行"},
        )
        rp.client_id, rp.secret = client.client_id, secret
    return rp


def _statements_of_the_page(card_app, rp) -> tuple[list[str], str]:
    """/authorize (which reads the client), then the login page, counting the page's SQL."""
    response = rp.authorize()
    assert response.status_code == 303
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.lstrip().split()[0].upper())

    with card_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = rp.http.get(response.headers["Location"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200
    return seen, page.get_data(as_text=True)


def test_the_login_page_asks_the_database_nothing(card_app, named_rp):
    statements, html = _statements_of_the_page(card_app, named_rp)
    assert statements == []
    assert 'data-service="サンプル銀行"' in html


def test_a_name_changed_in_this_process_is_shown_on_the_next_page(card_app, named_rp):
    from idp.oidc.clients import find_client

    assert 'data-service="サンプル銀行"' in _statements_of_the_page(card_app, named_rp)[1]
    with card_app.app_context():
        client = find_client(named_rp.client_id)
        client.set_client_metadata({**client.client_metadata, "client_name#ja": "みらい銀行"})
        db.session.commit()
    statements, html = _statements_of_the_page(card_app, named_rp)
    assert 'data-service="みらい銀行"' in html
    assert statements == []  # /authorize read the client again; the page did not
