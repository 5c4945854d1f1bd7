"""Logs as one JSON object per line, each line of a request carrying its request id.

``JsonFormatter`` turns any ``logging`` record into one line: ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``message``, ``request_id`` while a request is served, ``exc`` (the
traceback, one string) and any ``extra`` fields, such as the audit stream's (``idp.audit``).
It is the standard library's ``logging`` with a formatter of a few lines rather than a
dependency: every module already logs through ``logging``, gunicorn's own log is ``logging``, and
JSON needs nothing more than ``json.dumps``.

The IdP configures it itself: ``GunicornLogger`` (``logger_class`` in idp/gunicorn_conf.py) for
gunicorn's error and access logs and the app's, ``configure()`` for ``idp`` commands and any other
WSGI server (``idp.wsgi``). ``create_app`` only adds the request id (``init_app``), so tests and
embedding programs keep their own logging.

The request id is the proxy's ``X-Request-ID`` (nginx: ``proxy_set_header X-Request-ID
$request_id``) when it is 8-128 letters, digits, ``.``, ``_`` or ``-``; otherwise a new one.
Every response echoes it in ``X-Request-ID``, so a person's error page, the proxy's access log
and the IdP's lines meet on one value.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator

from flask import Flask
from gunicorn import glogging

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{8,128}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "idp_request_id", default=None
)
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_MARK = "_idp_json"


@contextlib.contextmanager
def serving(request_id: str | None) -> Iterator[None]:
    """Lines logged by this thread inside the block carry ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def request_id_from(header: str | None) -> str:
    """The proxy's id if it is sane (no spaces, quotes or control characters to forge log
    lines with), else a fresh one in nginx's ``$request_id`` shape (32 hex digits)."""
    if header and _SANE.fullmatch(header):
        return header
    return secrets.token_hex(16)


class JsonFormatter(logging.Formatter):
    """One record, one line of JSON (non-ASCII kept as is; control characters escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := _request_id.get()) is not None:
            line["request_id"] = request_id
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["exc"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: int | str = logging.INFO, stream=None) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON, once per process. A root
    logger someone else configured already (gunicorn's ``GunicornLogger``) is left alone."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a line of JSON too, not bare stderr


class GunicornLogger(glogging.Logger):
    """gunicorn's logger with JSON lines: its error log (``errorlog``), its access log (when
    on) and, through the error log's handlers, every other logger of the process."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, _MARK, False):  # a configuration reload: ours from last time
                root.removeHandler(handler)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
        for handler in self.error_log.handlers:
            setattr(handler, _MARK, True)
            root.addHandler(handler)
        root.setLevel(self.loglevel)
        logging.captureWarnings(True)

    def access(self, resp, req, environ, request_time) -> None:
        """The access line carries the id the request was served under (``init_app``)."""
        with serving(environ.get("HTTP_X_REQUEST_ID")):
            super().access(resp, req, environ, request_time)


def init_app(app: Flask) -> None:
    """Give each request its id: in every log line while it is served, and in the response."""
    app.wsgi_app = _RequestIds(app.wsgi_app)


class _RequestIds:
    """WSGI middleware, outermost, so error pages and failures of other layers carry it too."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = request_id

        def echo(status: str, headers: list, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            return start_response(status, [*headers, (HEADER, request_id)], exc_info)

        with serving(request_id):
            return self.wsgi_app(environ, echo)
