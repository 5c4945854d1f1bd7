"""What a card certificate's new status at the CA does to the account bound to it.

The JPKI core's sources (CRL entries, a revocation feed) hand ``StatusChange`` batches to a
``StatusListener``; this package's listener (``listener.CardStatusListener``) finds the account
by the certificate's key, records the change once (``idp.storage.card_status``), tells the
relying parties (``idp.ssf``) and applies it: a revoked or suspended authentication certificate
ends the account's sessions, refresh tokens and access tokens; every change is shown on the
citizen's account page. It also answers the protocol's question on every refresh, whether the
card of a login still stands (``standing.card_standing``, registered as ``idp.oidc``'s
``CARD_STANDING``). docs/card-status.md says what each reason does.

The sources are polled by the JPKI core's ``StatusWatcher``, built here with the app's shared
store and this listener (and the login's CRL updater, so new full CRLs are compared too), and
run by a ``StatusPoller`` thread in serving processes as the CRL refresher is; commands and
tests call ``poll_once`` themselves (``idp jpki status-poll``).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from ..config import Config
from ..jpki.anchors import TrustAnchors
from ..jpki.status_watch import StatusPoller, StatusWatcher, build_watcher
from ..jpki.transport import HttpTransport
from ..login.verification import CRL_REFRESHER
from ..oidc.authenticator import CARD_STANDING
from ..services import Service, services
from ..storage.ephemeral import EPHEMERAL
from .listener import CardStatusListener
from .standing import card_standing

LISTENER: Service[CardStatusListener] = Service("card status listener")
"""The app's listener: what the status sources of this app report to."""
WATCHER: Service[StatusWatcher | None] = Service("card status watcher", default=lambda: None)
"""The watcher of the configured sources (revocation feed, delta CRLs); with full CRLs alone, one
that only hears the serving process's CRL refresher; else None."""
POLLER: Service[StatusPoller | None] = Service("card status poller", default=lambda: None)
"""The serving process's polling thread; None in commands, tests and without a watcher."""


def init_app(app: Flask, config: Config) -> None:
    """Register the listener, the card standing the protocol asks, the account page's card
    section (its template; no routes of its own), and the watcher of the status sources."""
    app.register_blueprint(Blueprint("cardstatus", __name__, template_folder="templates"))
    listener = services(app)[LISTENER] = CardStatusListener(app)
    services(app)[CARD_STANDING] = card_standing
    _watch(app, config, listener)


def _watch(app: Flask, config: Config, listener: CardStatusListener) -> None:
    """Build the watcher the ``[jpki]`` block asks for; poll from serving processes (every
    process polls: the feed's cursor and lock are shared in the store, and each compares its
    own CRLs; the listener makes a change told twice a no-op). With ``crl_urls`` alone there is
    nothing to poll, but the refresher's new full CRLs are still compared and told."""
    settings = config.jpki
    refresher = services(app)[CRL_REFRESHER]
    if not (settings.revocation_feed.url or settings.delta_crl_urls):
        if refresher is not None:  # full CRLs alone: what each new one changes, nothing to poll
            roots = refresher.updater.anchors
            store = services(app)[EPHEMERAL]
            services(app)[WATCHER] = StatusWatcher(
                settings, store, listener, roots, updater=refresher.updater
            )
        return
    roots = TrustAnchors.from_settings(settings).roots
    watcher = services(app)[WATCHER] = build_watcher(
        settings,
        services(app)[EPHEMERAL],
        listener,
        roots,
        transport=HttpTransport(),
        updater=refresher.updater if refresher is not None else None,
    )
    if watcher is None or config.environment == "testing":
        return
    poller = services(app)[POLLER] = StatusPoller(watcher)
    app.before_request(poller.start)
