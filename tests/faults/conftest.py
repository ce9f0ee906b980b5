"""Fixtures of the fault suites: a private PostgreSQL cluster per module (started and stopped by
the tests themselves, never the shared server on 5432)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.postgres_cluster import PostgresCluster, postgres_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as started:
        yield started


@pytest.fixture
def running_cluster(cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    """The module's cluster, serving at the start of the test and again after it (a test that
    failed half-way must not leave the next one a stopped or refusing server)."""
    cluster.ensure_serving()
    yield cluster
    cluster.ensure_serving()
