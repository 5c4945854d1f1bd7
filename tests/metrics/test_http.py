"""Per-request metrics: labelled by Flask endpoint name and status class, never by path."""

from __future__ import annotations

import secrets

from tests.metrics.conftest import scrape

REQUESTS = "jpki_idp_http_requests_total"
DURATION_COUNT = "jpki_idp_http_request_duration_seconds_count"


def test_each_request_is_counted_once_under_its_endpoint_and_status_class(metrics_app):
    http = metrics_app.test_client()
    before = scrape(metrics_app)
    for _ in range(5):
        assert http.get("/jwks").status_code == 200
    assert http.get("/no/such/page").status_code == 404
    assert http.post("/jwks").status_code == 405
    after = scrape(metrics_app)
    jwks = {"endpoint": "oidc.jwks", "status": "2xx"}
    assert after[REQUESTS, jwks] - before[REQUESTS, jwks] == 5
    assert (
        after[DURATION_COUNT, {"endpoint": "oidc.jwks"}]
        - before[DURATION_COUNT, {"endpoint": "oidc.jwks"}]
        == 5
    )
    unmatched = {"endpoint": "unmatched", "status": "4xx"}
    assert after[REQUESTS, unmatched] - before[REQUESTS, unmatched] == 2


def test_a_server_error_is_a_5xx(metrics_app, monkeypatch):
    from idp.oidc.server import SERVER
    from idp.services import services

    class Broken:
        @property
        def services(self):
            raise RuntimeError("the key ring is gone")

    monkeypatch.setitem(services(metrics_app), SERVER, Broken())
    metrics_app.config["PROPAGATE_EXCEPTIONS"] = False
    before = scrape(metrics_app)
    assert metrics_app.test_client().get("/jwks").status_code == 500
    labels = {"endpoint": "oidc.jwks", "status": "5xx"}
    assert scrape(metrics_app)[REQUESTS, labels] - before[REQUESTS, labels] == 1


def test_no_label_is_a_path_or_carries_an_id(metrics_app):
    http = metrics_app.test_client()
    transaction = secrets.token_urlsafe(16)
    document = secrets.token_urlsafe(16)
    http.get(f"/login/card/{transaction}")
    http.post(f"/login/card/{transaction}/result", data={"result": "x"})
    http.get(f"/consent/{transaction}")
    http.get(f"/documents/{document}/review")
    http.get(f"/{transaction}")
    http.get("/selfinfo/v1/basic?x=/etc/passwd")
    samples = scrape(metrics_app)
    labels = samples.labelled(REQUESTS) + samples.labelled(DURATION_COUNT)
    assert {"endpoint": "login.card_page", "status": "4xx"} in labels
    values = [value for label in labels for value in label.values()]
    assert values
    assert not [v for v in values if "/" in v or transaction in v or document in v]
    assert transaction not in samples.text
    assert document not in samples.text
