"""gunicorn settings for ``python -m bench.flow --profile DIR``: the IdP's, plus measurements.

Each worker writes, at exit, into ``DIR``: with ``BENCH_PROFILE_MODE=sample``,
``worker-<pid>.samples.json`` (a sampler thread reads the serving thread's stack every
millisecond while a request runs; it needs the GIL to look, so it mostly sees where requests
wait, on I/O: a wall-time view, not a CPU one); with ``cprofile``, ``worker-<pid>.pstats``
(cProfile with a CPU-time timer); always ``worker-<pid>.cpu.json``: per endpoint,
``[CPU seconds (this thread's), requests, SQL statements]``. All are counted from the
SIGUSR2 that ``bench.flow`` sends after its warm-up.
For cProfile use the sync worker: cProfile sees only the thread that enabled it.
"""

from __future__ import annotations

import cProfile
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from idp.gunicorn_conf import *  # noqa: F403

_profiles: dict[int, cProfile.Profile] = {}
_cpu: dict[str, list[float]] = {}
_statements: dict[int, int] = {}
"""SQL statements per thread (gthread workers run several requests at once)."""
_in_request: list[int] = []
"""Thread ids of requests running now (the sampler only looks at those)."""
_samples: dict = {"total": 0, "self": {}, "inclusive": {}}
SAMPLE_EVERY = 0.001
LIBRARIES = (
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "PostgreSQL driver"),
    ("sqlite3", "SQLite driver"),
    ("redis", "Redis client"),
    ("flask_babel", "Babel/Jinja"),
    ("babel", "Babel/Jinja"),
    ("jinja2", "Babel/Jinja"),
    ("markupsafe", "Babel/Jinja"),
    ("flask", "Flask/Werkzeug"),
    ("werkzeug", "Flask/Werkzeug"),
    ("itsdangerous", "Flask/Werkzeug"),
    ("authlib", "Authlib"),
    ("joserfc", "joserfc"),
    ("cryptography", "cryptography"),
    ("asn1crypto", "asn1crypto"),
    ("gunicorn", "gunicorn"),
    ("/idp/jpki/", "idp.jpki"),
    ("/idp/oidc/", "idp.oidc"),
    ("/idp/login/", "idp.login"),
    ("/idp/", "idp (other)"),
)
"""Which library a frame's file belongs to; the first match wins."""
_ID = re.compile(r"/[A-Za-z0-9_-]{20,}")


def _endpoint(environ) -> str:
    return environ["REQUEST_METHOD"] + " " + _ID.sub("/<id>", environ.get("PATH_INFO", ""))


def _measured(app):
    def wrapper(environ, start_response):
        me = threading.get_ident()
        started, statements = time.thread_time(), _statements.get(me, 0)
        _in_request.append(threading.get_ident())
        body = app(environ, start_response)
        try:
            return list(body)
        finally:
            _in_request.remove(threading.get_ident())
            if hasattr(body, "close"):
                body.close()
            entry = _cpu.setdefault(_endpoint(environ), [0.0, 0, 0])
            entry[0] += time.thread_time() - started
            entry[1] += 1
            entry[2] += _statements.get(me, 0) - statements

    return wrapper


def _library(filename: str) -> str:
    for needle, name in LIBRARIES:
        if needle in filename:
            return name
    return "Python stdlib/other"


def _sample_forever() -> None:
    while True:
        time.sleep(SAMPLE_EVERY)
        frames = sys._current_frames()
        for ident in list(_in_request):
            frame = frames.get(ident)
            if frame is None:
                continue
            _samples["total"] += 1
            top = _library(frame.f_code.co_filename)
            _samples["self"][top] = _samples["self"].get(top, 0) + 1
            seen = set()
            while frame is not None:
                code = frame.f_code
                where = code.co_filename.split("site-packages/")[-1].split("/main/")[-1]
                name = f"{where}:{code.co_name}"
                if name not in seen:
                    seen.add(name)
                    _samples["inclusive"][name] = _samples["inclusive"].get(name, 0) + 1
                frame = frame.f_back


def _reset(*_args) -> None:
    """SIGUSR2 from ``bench.flow`` once warm-up is over: count the measured run only."""
    _cpu.clear()
    _samples.update(total=0, self={}, inclusive={})
    if (old := _profiles.get(os.getpid())) is not None:
        old.disable()
        profile = _profiles[os.getpid()] = cProfile.Profile(time.process_time)
        profile.enable()


def _count(*_args) -> None:
    me = threading.get_ident()
    _statements[me] = _statements.get(me, 0) + 1


def _sqlite_pragmas(connection, _record) -> None:
    """The experiment of ``BENCH_SQLITE_WAL=normal|full``: what idp/storage/db.py could set for
    SQLite (``full`` keeps every commit durable; ``normal`` may lose the last commits on power
    loss, never corrupting the file)."""
    if type(connection).__module__.startswith("sqlite3"):
        connection.execute("PRAGMA journal_mode=WAL")
        mode = "FULL" if os.environ.get("BENCH_SQLITE_WAL") == "full" else "NORMAL"
        connection.execute(f"PRAGMA synchronous={mode}")


def post_worker_init(worker) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _count)
    if os.environ.get("BENCH_SQLITE_WAL") in ("1", "normal", "full"):
        from idp.storage.db import db

        event.listen(Engine, "connect", _sqlite_pragmas)
        with worker.wsgi.app_context():
            db.engine.dispose()
    worker.wsgi = _measured(worker.wsgi)
    mode = os.environ.get("BENCH_PROFILE_MODE", "cprofile")
    signal.signal(signal.SIGUSR2, _reset)
    if mode == "sample":
        sys.setswitchinterval(SAMPLE_EVERY / 4)  # else the sampler only runs when I/O frees the GIL
        threading.Thread(target=_sample_forever, daemon=True, name="sampler").start()
    if mode == "cprofile":
        profile = _profiles[os.getpid()] = cProfile.Profile(time.process_time)
        profile.enable()


def worker_exit(server, worker) -> None:  # noqa: ARG001
    folder = Path(os.environ["BENCH_PROFILE_DIR"])
    profile = _profiles.pop(os.getpid(), None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(folder / f"worker-{os.getpid()}.pstats")
    (folder / f"worker-{os.getpid()}.cpu.json").write_text(json.dumps(_cpu))
    if _samples["total"]:
        (folder / f"worker-{os.getpid()}.samples.json").write_text(json.dumps(_samples))
