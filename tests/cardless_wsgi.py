"""A served IdP with the cardless login, for tests that run real processes (the two-process test).

``python -m tests.cardless_wsgi PORT [CERT KEY]`` serves on 127.0.0.1:PORT (threaded werkzeug,
like ``idp run``; over TLS with the PEM files CERT and KEY); ``tests.cardless_wsgi:app`` is the
same app for any WSGI server. The app is the one ``idp.wsgi`` builds from ``IDP_CONFIG`` and
``IDP_*`` (schema must be current, signing keys are created if missing), then
``tests.cardless.install_cardless_login``. Testing environment only.
"""

from __future__ import annotations

import sys

from werkzeug.serving import run_simple

from idp.services import services
from idp.wsgi import build
from tests.cardless import install_cardless_login

app = build()
if services(app).config.environment != "testing":
    raise SystemExit("tests.cardless_wsgi serves the testing environment only")
install_cardless_login(app)

if __name__ == "__main__":
    tls = tuple(sys.argv[2:4]) if len(sys.argv) > 2 else None
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, ssl_context=tls)
