"""The migrations are one chain: every file its own revision id, one head, nothing left out.

Two helpers once landed migrations with the same revision on the same parent; Alembic kept one
of the two files and the schema test still passed on a fresh database, yet no existing database
could be upgraded past them.
"""

from __future__ import annotations

import re

from alembic.script import ScriptDirectory

from idp.storage.db import MIGRATIONS

REVISION = re.compile(r'^revision = "(\w+)"$', re.MULTILINE)


def _files() -> dict[str, str]:
    """Each migration file's name and the revision id it declares."""
    found = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        (revision,) = REVISION.findall(path.read_text(encoding="utf-8"))
        found[path.name] = revision
    return found


def test_every_migration_file_has_its_own_revision():
    files = _files()
    assert files, "no migration files found"
    repeated = sorted(r for r in set(files.values()) if list(files.values()).count(r) > 1)
    assert repeated == [], {name: r for name, r in files.items() if r in repeated}
    for name, revision in files.items():
        assert name.startswith(revision + "_"), (name, revision)


def test_the_migrations_form_one_chain_through_every_file():
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1, script.get_bases()
    chain = [step.revision for step in script.walk_revisions()]
    assert sorted(chain) == sorted(_files().values())
