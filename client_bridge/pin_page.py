"""The bridge's own PIN page, on the bridge's own origin.

The login page opens ``/pin/<operation id>`` in a window; the citizen reads which site asks and
for which service, sees the tries left (and a plain warning before the last one), and types the
PIN here, so it never passes through the IdP's page or server.

The form is accepted only from the bridge's own origin (the browser's ``Origin`` header on the
POST) and with the operation's ``pin_token``, which only this page ever shows; the page may not be
framed (``frame-ancestors 'none'``) and runs no script at all.

Any web page can send requests here (an image, a fetch, a form, a frame), so before any budget is
spent :func:`check_requester` lets through only what the window itself sends: a top-level
navigation, or its own form. Each operation's window then has its own rate-limit budget
(:func:`bucket`): a page that does not know the operation's unguessable id (only the allowed
origin that started it is told) can exhaust only the budget of ids nobody was given.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from client_bridge import errors, guard, messages
from client_bridge.broker import DONE, FAILED, PIN_REQUIRED, STARTING, WORKING, Broker, Operation
from client_bridge.operation import Request
from client_bridge.pin import KeyKind, Pin, Pins

PREFIX = "/pin/"
bp = Blueprint("pin", __name__, url_prefix="/pin", template_folder="templates")
SETTLE = 10.0
"""Seconds the page waits for the card to be read (``starting``) or to sign (``working``) before it
answers; the page does not refresh itself, which would be a time limit (WCAG 2.2.1)."""
COLLECT_WAIT = 5.0
"""Seconds a finished window waits for the page that asked to receive the result (its long poll
answers within moments) before it says the result has not reached the site."""
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def broker() -> Broker:
    return current_app.extensions["bridge.broker"]


def language(op: Operation | None = None) -> str:
    """The window's own switch (``?lang=``), else the language the page chose for the
    operation, else the browser's."""
    for wanted in (request.args.get("lang"), op.request.lang if op else None):
        if wanted in messages.LANGUAGES:
            return wanted
    return request.accept_languages.best_match(messages.LANGUAGES, messages.DEFAULT_LANGUAGE)


def what(request: Request) -> str:
    """The operation in the page's words: the suffix of its title's catalogue key."""
    if request.pair:
        return "document_pair" if request.document else "pair"
    if request.document:
        return "document"
    return "authenticate" if request.kind is KeyKind.AUTH else "sign"


SUBMIT = {"authenticate": "authenticate", "sign": "sign", "pair": "sign",
          "document": "document", "document_pair": "document"}  # fmt: skip
"""The submit button's words per operation: log in, verify one's identity, or sign."""


def render(op: Operation, problem: str | None = None, status: int = 200) -> Any:
    lang = language(op)
    stdin = current_app.config["BRIDGE"].pin_stdin
    error = op.error.message(lang) if op.state == FAILED and op.error else None
    page = render_template(
        "pin.html",
        op=op,
        what=what(op.request),
        submit=SUBMIT[what(op.request)],
        lang=lang,
        other=next(other for other in messages.LANGUAGES if other != lang),
        t=lambda key, **values: messages.text(key, lang, **values),
        show_form=op.state == PIN_REQUIRED and not stdin,
        pending=not op.finished and not (op.state == PIN_REQUIRED and not stdin),
        problem=problem,
        error=error,
        # "Done" only once the page that asked has the result: a window whose page was
        # reloaded or closed says the signature has not reached the site.
        done=op.state == DONE and op.collected,
        not_collected=op.state == DONE and not op.collected,
    )
    return (
        page,
        status,
        {
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Content-Language": lang,
            # Browsers send ``Origin: null`` with a form POST from a no-referrer page, which
            # the Origin check above must refuse: same-origin keeps our own origin on our form
            # and still gives other sites nothing.
            "Referrer-Policy": "same-origin",
        },
    )


def check_requester() -> None:
    """Refuse what another page can send but the PIN window never does.

    POST: only the window's own form (``Origin`` the bridge's own). GET: a top-level navigation
    (the login page sets the window's location), which carries no foreign ``Origin`` and, where the
    browser sends Fetch Metadata (https://www.w3.org/TR/fetch-metadata/), says ``Sec-Fetch-Mode:
    navigate`` and ``Sec-Fetch-Dest: document``; a frame, an image, a script or a fetch says
    otherwise. Browsers without Fetch Metadata are judged by ``Origin`` alone."""
    own = guard.own_origin(request.headers["Host"])
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin != own:
        raise errors.ForbiddenOrigin("the PIN form is accepted only from the bridge's own page")
    if origin is not None and origin != own:
        raise errors.ForbiddenOrigin("another page may not fetch the PIN window")
    mode, dest = request.headers.get("Sec-Fetch-Mode"), request.headers.get("Sec-Fetch-Dest")
    if mode not in (None, "navigate") or dest not in (None, "document"):
        raise errors.ForbiddenOrigin("the PIN window opens only as a page of its own")


def bucket() -> str:
    """The rate-limit key: the operation's own, or one shared by every id nobody was given."""
    op_id = (request.view_args or {}).get("op_id", "")
    try:
        return "operation:" + broker().get(op_id).id
    except errors.NotFound:
        return "unknown"


@bp.errorhandler(errors.BridgeError)
def refused(error: errors.BridgeError) -> Any:
    """A person opened this window: an unknown or expired operation, or a refused form, gets
    a page in their language rather than the API's JSON. Nothing is done."""
    lang = language()
    page = render_template(
        "pin_gone.html",
        lang=lang,
        other=next(other for other in messages.LANGUAGES if other != lang),
        t=lambda key, **values: messages.text(key, lang, **values),
        reason=error.reason,
    )
    headers = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Content-Language": lang}
    return page, error.http_status if error.http_status >= 400 else 400, headers


FIELDS = {KeyKind.AUTH: "pin", KeyKind.SIGN: "signing_password"}
"""The form's field per key in a two-key operation; a one-key form has only ``pin``."""


class PinShape(Exception):
    """A typed PIN of the wrong shape for ``kind``: asked for again, nothing sent to the card."""

    def __init__(self, kind: KeyKind) -> None:
        super().__init__(kind)
        self.kind = kind


def typed(keys: tuple[KeyKind, ...]) -> Pins:
    """The PINs posted for ``keys`` (both for a two-key operation), each of valid shape."""
    pins: list[Pin] = []
    try:
        for kind in keys:
            field = FIELDS[kind] if len(keys) > 1 else "pin"
            try:
                pins.append(Pin(kind, request.form.get(field, "")))
            except errors.PinFormat:
                raise PinShape(kind) from None
    except PinShape:
        Pins(*pins).wipe()
        raise
    return Pins(*pins)


@bp.get("/<op_id>")
def show(op_id: str) -> Any:
    op = broker().get(op_id)
    deadline = time.monotonic() + SETTLE
    while op.state in (STARTING, WORKING) and (left := deadline - time.monotonic()) > 0:
        broker().wait(op, left, op.state)
    if op.state == DONE:
        broker().wait_collected(op, COLLECT_WAIT)
    return render(op)


@bp.post("/<op_id>")
def submit(op_id: str) -> Any:
    """Take the PIN (or a cancel) from the page; a PIN of the wrong shape is asked for again.

    ``check_requester`` has already refused a form from any origin but the bridge's own."""
    op = broker().get(op_id)
    token = request.form.get("token", "")
    if not hmac.compare_digest(token.encode(), op.pin_token.encode()):
        raise errors.ForbiddenOrigin("wrong form token")
    if current_app.config["BRIDGE"].pin_stdin:
        raise errors.BadRequest("this bridge reads PINs from standard input")
    if op.finished:  # e.g. abandoned by its page meanwhile: the page says so, nothing is taken
        return redirect(url_for("pin.show", op_id=op.id, lang=language(op)), code=303)
    if request.form.get("action") == "cancel":
        broker().give_pin(op, errors.Cancelled("cancelled on the PIN page"))
    else:
        try:
            pins = typed(op.request.keys)
        except PinShape as wrong:
            purpose = "authenticate" if wrong.kind is KeyKind.AUTH else "sign"
            problem = messages.text("pin_format_" + purpose, language(op))
            return render(op, problem=problem, status=400)
        broker().give_pin(op, pins)
    broker().wait_finished(op, 10.0)
    return redirect(url_for("pin.show", op_id=op.id, lang=language(op)), code=303)
