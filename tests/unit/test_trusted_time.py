"""TrustedTime's rules and the policy's time floor, with the clock injected."""

from hal import timesync
from hal.clock import Clock
from panel.trusted_time import PERSIST_SECONDS, TrustedTime
from panel.access import rotating_code
from tests.unit.test_access_policy import DEVICE, HOUR, NOW, check, device_credential, issue


class SetClock(Clock):
    def __init__(self, wall: float, source: str | None):
        self.now, self.source = wall, source

    def wall(self) -> float:
        return self.now

    def sync_source(self):
        return self.source


def test_trusted_sources_raise_the_floor_and_an_untrusted_clock_never_lowers_it():
    clock = SetClock(NOW, "ntp")
    t = TrustedTime(clock)
    assert t.read().to_json() == {"trusted": True, "source": "ntp", "last_trusted": NOW}
    clock.now, clock.source = NOW - 86400, None
    view = t.read()
    assert (view.trusted, view.source, view.last_trusted, view.floor) == (False, "persisted", NOW, NOW)
    clock.source = "rtc"                    # an RTC reading a day behind a trusted time: wrong
    assert not t.read().trusted
    clock.now = NOW + 10
    assert t.read().to_json() == {"trusted": True, "source": "rtc", "last_trusted": NOW + 10}
    assert TrustedTime(SetClock(0.0, None)).read().source == "none"


def test_the_floor_is_saved_once_a_minute_while_trusted():
    clock = SetClock(NOW, "ntp")
    t = TrustedTime(clock, TrustedTime.parse("garbage"))
    assert t.to_save() == NOW
    t.saved(NOW)
    clock.now = NOW + PERSIST_SECONDS - 1
    assert t.to_save() is None
    clock.now = NOW + PERSIST_SECONDS
    assert t.to_save() == NOW + PERSIST_SECONDS


def test_policy_checks_windows_at_the_floor_and_untrusted_early_keys_by_kind():
    expired = issue(kind="visitor", not_before=NOW - 3 * HOUR, not_after=NOW - HOUR)
    assert check(expired, now=NOW - 2 * HOUR).ok                              # what a slow clock did
    assert check(expired, now=NOW - 2 * HOUR, trusted_floor=NOW, clock_trusted=False).reason == "expired"
    early_resident = issue(not_before=NOW + HOUR)
    early_visitor = issue(kind="visitor", not_before=NOW + HOUR, not_after=NOW + 2 * HOUR)
    assert check(early_resident).reason == "not_yet_valid"                    # a trusted clock
    assert check(early_resident, clock_trusted=False).ok
    assert check(early_visitor, clock_trusted=False).reason == "not_yet_valid"
    # A rotating code from a phone whose clock is a day ahead of an untrusted panel's.
    code = rotating_code(device_credential(), DEVICE, now=NOW + 86400)
    assert check(code).reason == "not_yet_valid"
    assert check(code, clock_trusted=False).ok


def test_a_real_time_clock_is_found_in_dev_or_sysfs(tmp_path):
    assert not timesync.rtc_present(tmp_path)
    (tmp_path / "sys" / "class" / "rtc" / "rtc0").mkdir(parents=True)
    assert timesync.rtc_present(tmp_path)
