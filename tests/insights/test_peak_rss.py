"""Peak memory as the sharded refresh reports it per task: a spawned worker's own, and restartable per task."""

import multiprocessing
import sys

import numpy as np
import pytest

from insights.refresh.stages import peak_rss_mb, reset_peak_rss

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM and clear_refs are Linux's")


def _touch(mb: int) -> None:
    block = np.ones(mb * 1024 * 1024 // 8)  # written, so resident
    assert block.sum() > 0
    del block


def test_a_spawned_child_does_not_report_its_parents_peak():
    _touch(600)
    parent = peak_rss_mb()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        child = pool.apply(peak_rss_mb)
    assert parent >= 600 and child < parent - 400, (parent, child)


def test_a_reset_restarts_the_peak_from_the_current_size():
    _touch(500)
    before = peak_rss_mb()
    assert reset_peak_rss()
    after = peak_rss_mb()
    _touch(100)
    assert after < before - 300 and peak_rss_mb() >= after + 90, (before, after, peak_rss_mb())
