"""The development servers' access logs leave out query strings, where codes and hints travel."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from flask import Flask
from werkzeug.serving import make_server

from examples.relying_party.__main__ import PathOnlyLog as BankLog
from idp.cli import PathOnlyLog as IdpLog

QUERY = "code=Sp1AxN4mDq&id_token_hint=eyJhbGciOiJFUzI1NiJ9.e30.sig&state=s7"


def _served(handler, line: str, caplog) -> tuple[bytes, str]:
    """The first line answered to the request ``line``, and what the server logged of it."""
    app = Flask(__name__)
    app.add_url_rule("/cb", "cb", lambda: "ok")
    server = make_server("127.0.0.1", 0, app, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = f"{line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        with (
            caplog.at_level(logging.INFO, logger="werkzeug"),
            socket.create_connection(("127.0.0.1", server.port)) as connection,
        ):
            connection.sendall(request)
            answer = connection.makefile("rb").readline()
    finally:
        server.shutdown()
        thread.join()
    return answer, "\n".join(r.getMessage() for r in caplog.records if r.name == "werkzeug")


@pytest.mark.parametrize("handler", [IdpLog, BankLog], ids=["idp", "bank"])
@pytest.mark.parametrize("path", ["/cb", "/missing"])
def test_the_access_log_has_the_path_without_the_query(handler, path, caplog):
    answer, log = _served(handler, f"GET {path}?{QUERY} HTTP/1.1", caplog)
    assert answer.split()[1] == (b"200" if path == "/cb" else b"404")
    assert f"GET {path} HTTP/1.1" in log
    for secret in ("Sp1AxN4mDq", "eyJhbGciOiJFUzI1NiJ9", "state=", "?"):
        assert secret not in log


def test_the_stock_handler_would_log_the_query(caplog):
    """The check above can fail: Werkzeug's own handler logs the code."""
    from werkzeug.serving import WSGIRequestHandler

    assert "Sp1AxN4mDq" in _served(WSGIRequestHandler, f"GET /cb?{QUERY} HTTP/1.1", caplog)[1]


@pytest.mark.parametrize("handler", [IdpLog, BankLog], ids=["idp", "bank"])
def test_an_unparsable_request_line_is_logged_without_its_query(handler, caplog):
    log = _served(handler, f"GET /cb?{QUERY} HTTP/9", caplog)[1]
    assert "Bad request version" in log
    assert "GET /cb" in log
    assert "Sp1AxN4mDq" not in log
