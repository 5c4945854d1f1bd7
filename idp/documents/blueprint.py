"""The document surface: one blueprint for the client API and the citizen's review pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "documents",
    __name__,
    static_folder="static",
    static_url_path="/documents/static",
    template_folder="templates",
)
