"""gunicorn settings for the IdP: ``gunicorn -c idp/gunicorn_conf.py idp.wsgi:app``.

Command-line options win over these (``--workers``, ``--bind``); gunicorn also reads
``GUNICORN_CMD_ARGS`` and ``WEB_CONCURRENCY``. The IdP listens on loopback behind a
TLS-terminating proxy (docs/operators.md §5). gunicorn trusts no forwarded header: every URL the
IdP builds comes from the configured ``issuer``, and the client's address is taken from
``X-Forwarded-For`` by the IdP itself, only from ``[proxy] trusted`` addresses (``idp.proxy``).

``IDP_PROCESSES`` in the IdP's configuration must count every worker of every host: above one,
the IdP refuses to start without Redis.
"""

from __future__ import annotations

import multiprocessing
import os

bind = "127.0.0.1:8000"
workers = max(1, min(4, multiprocessing.cpu_count()))
"""One worker per core: the hot path is CPU-bound Python (bench/results/flow-profile.md)."""
worker_class = "gthread"
threads = 4
"""Four threads per worker: while one waits for PostgreSQL's commit or a Redis round trip,
another computes. Measured: 7 → 12-19 logins/s on one worker (bench/results/flow-profile.md).
The GIL keeps each worker on one core, so add workers, not threads, for more cores."""
keepalive = 5
"""Seconds an idle keep-alive connection from the proxy stays open: longer than the proxy keeps
one idle (``keepalive_timeout 4s`` in config/nginx/jpki-idp.conf; nginx's default is 60 s), so
the proxy always closes an idle connection first and never sends a request down one gunicorn
is closing at that moment (the request would be reset; nginx does not retry a POST).
tests/outages/test_startup.py holds the two files to that order."""
timeout = 30
graceful_timeout = 20
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - heartbeat only
"""Each worker touches a heartbeat file on every turn of its loop: on tmpfs, as gunicorn's
documentation advises, never a stall on a disk-backed /tmp (bench/results/flow-profile.md)."""
preload_app = False
"""Each worker builds its own app, database pool and Redis connection after the fork."""
forwarded_allow_ips = ""
proxy_allow_ips = ""
limit_request_line = 8190
limit_request_fields = 60
limit_request_field_size = 8190
accesslog = None
"""Access logs: off by default (the proxy logs requests); ``--access-logfile -`` turns them on
with the format below, which leaves out query strings (request_uri, codes, states)."""
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(D)sus'
errorlog = "-"
loglevel = "info"
logger_class = "idp.logs.GunicornLogger"
"""JSON lines, one object each, for gunicorn's error and access logs and the IdP's own loggers
(``idp.audit`` and the rest), all to ``errorlog`` (docs/operators.md §10)."""


def child_exit(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """With ``PROMETHEUS_MULTIPROC_DIR`` (docs/operators.md §9), forget an exited worker's live
    gauges; its counters stay in the directory, so totals never go back."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
