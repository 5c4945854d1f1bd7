"""The document surface: one blueprint for the client API and the citizen's review pages."""

from __future__ import annotations

from ..web.pages import blueprint

bp = blueprint("documents", __name__)
