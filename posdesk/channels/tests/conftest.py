"""Fixtures of the channels' tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posdesk.channels import services


@pytest.fixture(autouse=True)
def _rejection_counts_reset() -> Iterator[None]:
    """Each test starts with room to record refused calls: the per-minute cap counts per process,
    and frozen clocks put many tests in the same minute."""
    services._rejection_counts.clear()
    yield
    services._rejection_counts.clear()
