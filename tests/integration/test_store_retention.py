"""The store keeps a bounded access log: by count, age and bytes, oldest first, entries
already uploaded before any still waiting for the cloud; and snapshots of any frame
are stored small."""

import time

import numpy as np

from panel.store import Retention, Store
from panel.store.snapshot import bounded_jpeg


def log(store, who, **kw):
    return store.log_access(door="main", granted=True, method="api", who=who, **kw)


def whos(store):
    return [e.who for e in store.events(limit=10_000)]


def test_the_oldest_uploaded_entries_go_first(tmp_path, caplog):
    store = Store(tmp_path / "p.db", retention=Retention(max_entries=3))
    try:
        for who in "abc":
            log(store, who)
        pending = store.outbox_pending()
        store.outbox_sent([pending[1].id, pending[2].id])      # b and c uploaded, a still waiting
        log(store, "d")
        assert whos(store) == ["a", "c", "d"]                    # b went, not a
        assert "not yet uploaded" not in caplog.text
        log(store, "e")                                          # c goes; then only waiting ones are left
        assert whos(store) == ["a", "d", "e"] and "forced pruning" not in caplog.text
        log(store, "f")
        assert whos(store) == ["d", "e", "f"]
        assert "forced pruning" in caplog.text                   # a, still waiting, had to go: said so
        assert [p.payload["who"] for p in store.outbox_pending()] == whos(store)
    finally:
        store.close()


def test_entries_older_than_max_age_go(tmp_path):
    store = Store(tmp_path / "p.db", retention=Retention(max_age_days=30))
    try:
        log(store, "old", ts=time.time() - 31 * 86400)
        log(store, "new")
        assert whos(store) == ["new"]
    finally:
        store.close()


def test_the_file_stays_within_max_bytes(tmp_path):
    limit = 2 * 1024 * 1024
    store = Store(tmp_path / "p.db", retention=Retention(max_bytes=limit))
    try:
        for i in range(120):                                     # 6 MB of snapshots offered
            log(store, str(i), snapshot=np.random.default_rng(i).bytes(50_000))
            store.outbox_sent([p.id for p in store.outbox_pending()])
        kept = whos(store)
        assert kept[-1] == "119" and 20 < len(kept) < 60
        assert (tmp_path / "p.db").stat().st_size <= limit + 256 * 1024
    finally:
        store.close()


def test_a_snapshot_of_any_frame_is_bounded():
    noise = np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    data = bounded_jpeg(noise, max_side=640, quality=75, max_bytes=40_000)
    assert data is not None and len(data) <= 40_000
    import cv2
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert max(image.shape[:2]) <= 640
