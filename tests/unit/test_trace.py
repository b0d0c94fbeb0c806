"""panel.trace: points reach subscribers, nothing happens without one, a failing
subscriber does not break the firmware."""

from __future__ import annotations

from panel import trace


def test_a_subscriber_sees_points_until_it_unsubscribes():
    seen = []
    unsubscribe = trace.subscribe(lambda name, fields: seen.append((name, fields)))
    try:
        trace.point("test.one", a=1, name="not the point's name")
    finally:
        unsubscribe()
    trace.point("test.two")
    assert seen == [("test.one", {"a": 1, "name": "not the point's name"})]
    assert not trace.active()


def test_a_failing_subscriber_is_ignored_and_the_others_still_run(caplog):
    seen = []

    def broken(name, fields):
        raise RuntimeError("boom")
    off = [trace.subscribe(broken), trace.subscribe(lambda name, fields: seen.append(name))]
    try:
        trace.point("test.a")
        trace.point("test.b")
    finally:
        for unsubscribe in off:
            unsubscribe()
    assert seen == ["test.a", "test.b"]
    assert sum("trace subscriber" in r.message for r in caplog.records) == 1


def test_every_point_in_the_code_is_listed():
    import re
    from pathlib import Path
    root = Path(trace.__file__).parent
    used = {m for path in root.rglob("*.py") if path.name != "trace.py"
            for m in re.findall(r'trace\.point\(\s*"([^"]+)"', path.read_text())}
    assert used and used <= set(trace.POINTS), used - set(trace.POINTS)
