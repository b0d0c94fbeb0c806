"""Trusted time on a running panel with a real store: the last trusted time outlives a
reboot, so a clock a day slow cannot bring yesterday's visitor key back, and a Pi that
boots years behind without network still lets residents in. The wall clock and what
vouches for it (NTP, a real-time clock, nothing) are injected: no real clock changes."""

from __future__ import annotations

import asyncio
import time

from hal.clock import VirtualClock
from panel.trusted_time import META_KEY
from tests.integration.test_qr_door import ISSUER, KID, credential, new_events, show
from panel.access.keys import public_key_text
from tests.support import make_config, start_panel, until

DAY = 86400.0


def clock_at(wall: float, source: str | None) -> VirtualClock:
    """A clock reading `wall` now, vouched for by source ("ntp", "rtc" or None)."""
    return VirtualClock(wall - asyncio.get_running_loop().time(), source)


async def boot(tmp_path, wall: float, source: str | None):
    config = make_config(tmp_path, access={"trusted_keys": {KID: public_key_text(ISSUER)}, "dedupe_seconds": 0})
    return await start_panel(config, clock=clock_at(wall, source))


async def stop(panel) -> None:
    await panel.session.close()
    await panel.stop()


async def trusted_once(tmp_path, now: float) -> float:
    """A first boot with NTP: the panel stores the time it trusted; returns it."""
    panel = await boot(tmp_path, now, "ntp")
    try:
        status = (await panel.get_json("/status"))["time"]
        assert status["trusted"] and status["source"] == "ntp" and status["last_trusted"] >= now
        saved = await until(lambda: asyncio.to_thread(panel.app.store.get_meta, META_KEY), what="persisted time")
        return float(saved)
    finally:
        await stop(panel)


async def decide(panel, key: str) -> dict:
    after = (await panel.get_json("/events"))["events"]
    await show(panel, key)
    return (await new_events(panel, after[-1]["id"] if after else 0, 1))[-1]


async def test_a_clock_a_day_slow_after_a_reboot_does_not_bring_back_yesterdays_visitor_key(tmp_path):
    now = time.time()
    saved = await trusted_once(tmp_path, now)
    panel = await boot(tmp_path, now - DAY, None)          # rebooted, no network, no RTC: a day slow
    try:
        assert (await panel.get_json("/status"))["time"] == {"trusted": False, "source": "persisted",
                                                             "last_trusted": saved}
        yesterday = credential(holder_id="visitor:1", holder_name="Ada Guest", kind="visitor",
                               not_before=now - DAY - 3600, not_after=now - DAY + 7200, credential_id="v1")
        entry = await decide(panel, yesterday)
        assert not entry["granted"] and entry["reason"] == "expired"
        assert (await decide(panel, credential()))["granted"]    # a resident's key still opens
    finally:
        await stop(panel)


async def test_a_pi_that_boots_years_behind_without_network_still_lets_residents_in(tmp_path):
    now = time.time()
    await trusted_once(tmp_path, now)
    panel = await boot(tmp_path, now - 5 * 365 * DAY, None)     # no RTC, no NTP: the image's build date
    try:
        entry = await decide(panel, credential())
        assert entry["granted"]
        # Stamped no earlier than the last trusted time: not five years ago, where the
        # log's retention (90 days by default) would prune it before it is uploaded.
        assert entry["ts"] >= now
        # A key issued after the last trusted time: a resident's opens, a visitor's waits.
        newer = credential(not_before=now + DAY, not_after=now + 365 * DAY, credential_id="new")
        assert (await decide(panel, newer))["granted"]
        later = credential(holder_id="visitor:2", holder_name="Bo Guest", kind="visitor",
                           not_before=now + DAY, not_after=now + DAY + 3600, credential_id="v2")
        entry = await decide(panel, later)
        assert not entry["granted"] and entry["reason"] == "not_yet_valid"
    finally:
        await stop(panel)


async def test_a_real_time_clock_behind_the_last_trusted_time_is_not_trusted(tmp_path):
    now = time.time()
    saved = await trusted_once(tmp_path, now)
    panel = await boot(tmp_path, now - 7 * DAY, "rtc")        # an RTC whose battery ran out
    try:
        assert (await panel.get_json("/status"))["time"] == {"trusted": False, "source": "persisted",
                                                             "last_trusted": saved}
    finally:
        await stop(panel)
    panel = await boot(tmp_path, now + 5, "rtc")
    try:
        assert (await panel.get_json("/status"))["time"]["source"] == "rtc"
    finally:
        await stop(panel)
