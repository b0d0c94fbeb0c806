"""The office's access log through the staff API: filtered and searched, exported as CSV
with the same filters, bad filters refused in words; and the mail sink kept in the dev
cloud's SQLite file across a restart. A dev cloud alone (no panel): the entries are
recorded as a panel's upload records them (Office.record)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import aiohttp
import pytest

from panel.config import Config
from panel.sim.cloud import DevCloud

DAY = datetime(2026, 12, 1, 12, 0)


def seed(cloud) -> None:
    """Entries over three days: residents, a visitor of Olivia's (1A), refusals, an alarm."""
    office = cloud.office
    inv = office.invite(name='Ann "Nan" O\'Hara, Jr.', email="ann@example.test", not_before=DAY.timestamp(),
                        not_after=(DAY + timedelta(hours=4)).timestamp(), doors=["main"],
                        invited_by="Olivia Smith", inviter="r01")
    entries = [
        (DAY, dict(granted=True, method="qr", who="Olivia Smith", credential_id="demo-r01")),
        (DAY + timedelta(hours=1), dict(granted=True, method="qr", who=inv.name, credential_id=inv.id)),
        (DAY + timedelta(days=1), dict(granted=False, method="qr", who="Noah Smith", reason="expired")),
        (DAY + timedelta(days=1, hours=2), dict(granted=True, method="call", who="James Smith")),
        (DAY + timedelta(days=2), dict(granted=False, method="card", who="", reason="unknown_card")),
        (DAY + timedelta(days=2, hours=1), dict(kind="alarm", granted=False, method="contact",
                                                reason="door_forced")),
        (DAY + timedelta(days=2, hours=2), dict(granted=True, method="api", who="=HYPERLINK(\"x\")")),
    ]
    for i, (ts, entry) in enumerate(entries, 1):
        office.record("panel", i, {"ts": ts.timestamp(), "door": "main", "kind": "access", "reason": "", **entry})


@pytest.fixture
async def office(tmp_path):
    cloud = DevCloud(Config().property_file, state_file=tmp_path / "cloud.db")
    await cloud.start()
    seed(cloud)
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {cloud.staff_token}"})
    try:
        yield cloud, session
    finally:
        await session.close()
        await cloud.stop()


async def get(cloud, session, path, expect=200):
    async with session.get(cloud.url + path) as r:
        body = await r.read()
        assert r.status == expect, body
        return r, body


async def who(cloud, session, query: str) -> list[str]:
    _, body = await get(cloud, session, f"/api/admin/log?{query}")
    return [e.get("who", "") for e in json.loads(body)]


async def test_the_log_is_filtered_by_result_method_door_and_dates_and_searched_by_name_and_unit(office):
    cloud, session = office
    assert len(await who(cloud, session, "")) == 7
    assert await who(cloud, session, "result=refused") == ["", "Noah Smith"]        # newest first
    assert await who(cloud, session, "result=alarm") == [""]
    assert await who(cloud, session, "method=call") == ["James Smith"]
    assert await who(cloud, session, "result=opened&method=qr") == ['Ann "Nan" O\'Hara, Jr.', "Olivia Smith"]
    assert await who(cloud, session, "from=2026-12-02&until=2026-12-02") == ["James Smith", "Noah Smith"]
    assert len(await who(cloud, session, "from=2026-12-03")) == 3
    assert await who(cloud, session, "until=2026-12-01T12:30") == ["Olivia Smith"]
    assert await who(cloud, session, "door=main&q=noah") == ["Noah Smith"]
    # The apartment: a resident's own, a visitor's host's (Olivia and James live in 1A).
    assert await who(cloud, session, "q=1a") == ["James Smith", 'Ann "Nan" O\'Hara, Jr.', "Olivia Smith"]
    assert await who(cloud, session, "q=nan o'hara") == ['Ann "Nan" O\'Hara, Jr.']
    _, body = await get(cloud, session, "/api/admin/log?result=refused")
    assert b'"reason_text": "card not registered"' in body and b'"how": "Access card"' in body


async def test_the_csv_has_the_filtered_rows_quoted(office):
    cloud, session = office
    r, body = await get(cloud, session, "/api/admin/log.csv?method=qr")
    assert r.content_type == "text/csv"
    assert re.fullmatch(r'attachment; filename="access-log-\d{4}-\d\d-\d\d\.csv"', r.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(row["Who"], row["Apartment"], row["Result"], row["Reason"], row["How"]) for row in rows] == [
        ("Noah Smith", "4C", "refused", "key expired", "QR key"),
        ('Ann "Nan" O\'Hara, Jr.', "1A", "opened", "", "QR key"),
        ("Olivia Smith", "1A", "opened", "", "QR key")]
    assert rows[2]["When"] == "2026-12-01 12:00:00"
    _, body = await get(cloud, session, "/api/admin/log.csv?method=api")
    [row] = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert row["Who"] == "'=HYPERLINK(\"x\")"       # text in a spreadsheet, not a formula
    _, body = await get(cloud, session, "/api/admin/log.csv?q=nobody")
    assert body.decode("utf-8-sig").splitlines() == ["When,Door,Result,Reason,How,Who,Apartment,Snapshot"]


@pytest.mark.parametrize("query, words", [
    ("result=maybe", "result must be one of opened, refused, alarm, got 'maybe'"),
    ("method=teleport", "method must be one of qr, card"),
    ("door=back", "no door 'back' at this property: use one of main"),
    ("from=yesterday", "'from' must be a date like 2026-12-24"),
    ("until=2026-13-01", "'until' must be a date like 2026-12-24"),
    ("from=2026-12-03&until=2026-12-01", "'until' must not be before 'from'"),
    ("colour=red", "no filter 'colour'"),
    ("q=" + "x" * 101, "a search of at most 100 characters"),
])
async def test_a_bad_filter_is_refused_in_words(office, query, words):
    cloud, session = office
    for path in ("/api/admin/log", "/api/admin/log.csv"):
        r, body = await get(cloud, session, f"{path}?{query}", expect=400)
        assert words in (await r.json())["error"]


async def test_the_csv_needs_the_staff_token(office):
    cloud, _ = office
    async with aiohttp.ClientSession() as anonymous, anonymous.get(cloud.url + "/api/admin/log.csv") as r:
        assert r.status == 401


async def test_the_mail_sink_keeps_its_mail_across_a_restart(tmp_path):
    state = tmp_path / "cloud.db"
    cloud = DevCloud(Config().property_file, state_file=state)
    await cloud.start()
    start = datetime.now()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {cloud.staff_token}"}) as session:
        async with session.post(cloud.url + "/api/admin/invitations", json={
                "name": "Ada Guest", "email": "ada@example.test", "from": start.isoformat(timespec="seconds"),
                "until": (start + timedelta(hours=2)).isoformat(timespec="seconds")}) as r:
            assert r.status == 201 and (await r.json())["mailed"]
        await cloud.stop()
        cloud = DevCloud(Config().property_file, state_file=state)      # the same file, a new process's view
        await cloud.start()
        try:
            async with session.get(cloud.url + "/api/admin/mail") as r:
                [mail] = await r.json()
            assert mail["to"] == "ada@example.test" and mail["subject"] == "Your invitation to Maple Court"
            assert "The property office of Maple Court invited you." in mail["text"]
            [link] = mail["links"]
            async with session.get(link.replace(link.split("/invite/")[0], cloud.url)) as r:
                assert r.status == 200 and "Your key to Maple Court" in await r.text()
        finally:
            await cloud.stop()
