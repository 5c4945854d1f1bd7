"""``idp db …``: Flask-Migrate's group on our migrations (``db.migrate``); the commands that
change the schema leave an ``admin.command`` audit line."""

from __future__ import annotations

from flask_migrate.cli import db as db_group

from ..audit import audited

for _name in ("upgrade", "downgrade", "stamp"):
    audited(db_group.commands[_name])

COMMANDS = (db_group,)
"""What ``init_app`` adds to the app's commands (``migrate.init_app`` adds the same group)."""
