"""panel.remote.measure: the one percentile and the one /proc reader."""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pytest

from panel.remote.measure import Proc, percentile


@pytest.mark.parametrize("values", [[5.0], [3.0, 1.0], [1, 2, 3, 4], list(range(17)), [0.5, 9, 2.25, 7, 7, 1]])
@pytest.mark.parametrize("p", [0, 5, 25, 50, 90, 95, 99, 100])
def test_percentile_is_linear_interpolation_as_numpy_does_it(values, p):
    assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_percentile_edges():
    assert math.isnan(percentile([], 50))
    assert percentile([10, 20], 50) == 15
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_proc_reads_this_process():
    me = Proc()
    assert me.pid == os.getpid()
    before = me.cpu_seconds()
    sum(i * i for i in range(300_000))          # some CPU on the main thread
    assert me.cpu_seconds() >= before
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        threads = me.thread_cpu_seconds()
        assert os.getpid() in threads and t.native_id in threads
        assert me.threads() == len(threads) >= 2
        assert me.main_thread_cpu_seconds() <= me.cpu_seconds()
    finally:
        stop.set()
        t.join()
    assert me.rss_mb() > 10 and me.fds() >= 3
