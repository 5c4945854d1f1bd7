"""The production topology, started once for the suite (``topology.build``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.production.topology import Topology, build


@pytest.fixture(scope="session")
def topology(tmp_path_factory) -> Iterator[Topology]:
    started = build(tmp_path_factory.mktemp("production"))
    yield started
    started.close()
