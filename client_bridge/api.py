"""The loopback API under ``/v1/`` (documented in docs/bridge-protocol.md).

By the time a route runs, :func:`client_bridge.app.check_request` has accepted the Host and the
Origin. The origin bound into the signature is that header, exactly as the browser sent it; an
operation's state can be read or cancelled only by the origin that started it (others get 404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for

from client_bridge import body, errors, status
from client_bridge.broker import DONE, FAILED, Broker, Operation
from client_bridge.pin import KeyKind

bp = Blueprint("v1", __name__, url_prefix="/v1")
MAX_WAIT = 25.0


def broker() -> Broker:
    return current_app.extensions["bridge.broker"]


def origin() -> str:
    return request.headers["Origin"]


@bp.get("/status")
def get_status() -> Any:
    settings = current_app.config["BRIDGE"]
    return jsonify(status.report(settings.reader, probe_card=broker().active is None))


@bp.post("/authenticate")
def authenticate() -> Any:
    return start(KeyKind.AUTH)


@bp.post("/sign")
def sign() -> Any:
    """Identity verification (a challenge) or a document (``"purpose": "document"``,
    docs/bridge-protocol.md §8)."""
    return start(KeyKind.SIGN)


def start(kind: KeyKind) -> Any:
    """Validate the body fully before touching the card or the one-operation lock."""
    new = body.parse(kind, request.get_json(silent=True) if request.is_json else None, origin())
    wait = current_app.extensions["bridge.limits"]["operations"].hit(origin())
    if wait is not None:
        raise errors.RateLimited(wait)
    op = broker().start(new)
    response = jsonify(view(op))
    response.status_code = 202
    response.headers["Location"] = url_for("v1.get_operation", op_id=op.id)
    return response


def owned(op_id: str) -> Operation:
    """The operation, if this origin started it; otherwise it does not exist for the caller."""
    op = broker().get(op_id)
    if op.request.origin != origin():
        raise errors.NotFound("no such operation")
    return op


@bp.get("/operations/<op_id>")
def get_operation(op_id: str) -> Any:
    """Long poll: waits up to ``wait`` seconds (max 25) for the state to change."""
    op = owned(op_id)
    try:
        wait = min(max(float(request.args.get("wait", "0")), 0.0), MAX_WAIT)
    except ValueError:
        raise errors.BadRequest("wait must be a number of seconds") from None
    if wait and not op.finished:
        broker().wait(op, wait, request.args.get("state"))
    return jsonify(view(op))


@bp.delete("/operations/<op_id>")
def cancel_operation(op_id: str) -> Any:
    """Cancel while the operation waits for its PIN; with ``?abandoned=1`` the page says it is
    gone (reloaded or closed): then even a signature being made or made but not collected is
    dropped, so the PIN window never reports success for a page that cannot post it."""
    op = owned(op_id)
    if request.args.get("abandoned") == "1":
        broker().abandon(op)
    else:
        broker().give_pin(op, errors.Cancelled("cancelled by the page"))
    broker().wait_finished(op, 5.0)
    return jsonify(view(op))


def view(op: Operation) -> dict[str, Any]:
    """An operation as the page sees it: never the PIN token, never anything about the PIN."""
    body: dict[str, Any] = {"id": op.id, "status": op.state, "key": op.request.kind.value}
    if op.request.pair:  # a two-key operation (bridge-protocol.md §9)
        body["keys"] = [kind.value for kind in op.request.keys]
    if not op.finished and not current_app.config["BRIDGE"].pin_stdin:
        port = current_app.config["BRIDGE"].port
        body["pin_url"] = f"http://127.0.0.1:{port}/pin/{op.id}"
    if op.prompt is not None and op.prompt.tries_left is not None:
        body["tries_left"] = op.prompt.tries_left
        body["last_try"] = op.prompt.last_try
    if op.state == DONE and op.result is not None:
        body["result"] = op.result.to_json()
        broker().collect(op)
    if op.state == FAILED and op.error is not None:
        body.update(op.error.to_json())
    return body
