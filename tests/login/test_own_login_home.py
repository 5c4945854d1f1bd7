"""The IdP's own login (for its account page) has a way back that is not a dead end: giving up
leads to the IdP's home page, which exists."""

from __future__ import annotations

import re


def test_giving_up_the_idps_own_login_leads_home_not_to_a_404(card_app):
    """The account page's card login, abandoned with "Back to …", ends on the home page."""
    http = card_app.test_client()
    login = http.get("/account", follow_redirects=True)
    html = login.get_data(as_text=True)
    cancel = re.search(r'<form method="post" action="([^"]+/cancel)"', html)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert cancel is not None, html
    assert csrf is not None
    back = http.post(cancel.group(1), data={"csrf_token": csrf.group(1)})
    assert back.status_code == 303
    assert back.headers["Location"] == "/"
    assert http.get("/").status_code == 200
