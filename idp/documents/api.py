"""The back-channel API a service uses: submit a document, read its outcome.

``POST /documents`` stores the request and answers where to send the citizen;
``GET /documents/<id>`` says what became of it and, once signed, hands over the detached CMS
signature and the signer's certificate; ``GET /documents/<id>/signed.pdf`` the signed PDF.
Each call authenticates the client as at the token endpoint; a document is visible only to the
client that submitted it (to any other: 404).
"""

from __future__ import annotations

import base64

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import jsonify, make_response, request
from werkzeug.wrappers import Response

from ..oidc import untrusted_json
from ..oidc.endpoints import endpoint_url
from ..storage.db import db
from ..storage.documents import SIGNED, DocumentRequest
from . import signing
from .client_auth import authenticate
from .submission import BODY_MAX, parse, refuse
from .views import bp


def _json(body: dict, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(error: OAuth2Error) -> Response:
    response = _json(
        {"error": error.error, "error_description": error.description or error.error},
        error.status_code or 400,
    )
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="documents"'
    return response


def _not_found() -> Response:
    return _json({"error": "not_found", "error_description": "no such document"}, 404)


def _body() -> object:
    """The JSON body, bounded (``untrusted_json``: no RecursionError, no NaN), or None."""
    if not request.is_json or request.content_length is None:
        return None
    if request.content_length > BODY_MAX:
        return None
    try:
        return untrusted_json.load(request.get_data(cache=True), BODY_MAX)
    except untrusted_json.UntrustedJsonError:
        return None


@bp.post("/documents")
def submit() -> Response:
    body = _body()
    try:
        if request.content_length is not None and request.content_length > BODY_MAX:
            raise refuse("the body is larger than a 10 MB PDF allows")  # before reading it
        client = authenticate(body if isinstance(body, dict) else None)
        submission = parse(body, client)
    except OAuth2Error as error:
        return _error(error)
    document = signing.submit(client, submission)
    return _json(
        {
            "document_id": document.id,
            "review_url": endpoint_url("documents.review", document_id=document.id),
            "expires_at": document.expires_at,
            "digest": document.digest,
        },
        201,
    )


def _own_document(document_id: str) -> DocumentRequest | Response:
    """The authenticated client's document, or the response refusing the call."""
    try:
        client = authenticate(None)
    except OAuth2Error as error:
        return _error(error)
    document = db.session.get(DocumentRequest, document_id) if len(document_id) <= 43 else None
    if document is None or document.client_id != client.client_id:
        return _not_found()
    return document


@bp.get("/documents/<document_id>")
def status(document_id: str) -> Response:
    document = _own_document(document_id)
    if isinstance(document, Response):
        return document
    body = {
        "document_id": document.id,
        "status": document.current_status(),
        "title": document.title,
        "digest": document.digest,
        "expires_at": document.expires_at,
    }
    if document.status == SIGNED:
        body["signed_at"] = document.signed_at
        body["cms"] = base64.b64encode(document.cms).decode("ascii")
        body["signer_certificate"] = signing.signer_certificate_pem(document)
        if document.signed_pdf is not None:
            body["signed_pdf_url"] = endpoint_url("documents.signed_pdf", document_id=document.id)
    return _json(body)


@bp.get("/documents/<document_id>/signed.pdf")
def signed_pdf(document_id: str) -> Response:
    document = _own_document(document_id)
    if isinstance(document, Response):
        return document
    if document.status != SIGNED or document.signed_pdf is None:
        return _json(
            {"error": "not_found", "error_description": "no signed PDF for this document"}, 404
        )
    response = make_response(document.signed_pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="signed.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
