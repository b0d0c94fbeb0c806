"""policy.verify: every refusal reason, key rotation, revocation, visitor limit,
rotating codes. Time is injected: no clock, no sleeps."""

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel.access import REASONS, ReplayGuard, issue_credential, rotating_code, verify
from panel.access.base45 import b45decode, b45encode

NOW = 1_800_000_000.0
HOUR = 3600
OLD_ISSUER = Ed25519PrivateKey.generate()
NEW_ISSUER = Ed25519PrivateKey.generate()
DEVICE = Ed25519PrivateKey.generate()
TRUSTED = {"2025-01": OLD_ISSUER.public_key(), "2026-01": NEW_ISSUER.public_key()}


def issue(key=NEW_ISSUER, kid="2026-01", **overrides):
    args = dict(
        holder_id="res-42",
        holder_name="Ana Lima",
        kind="resident",
        doors=["main"],
        not_before=NOW - HOUR,
        not_after=NOW + 30 * 24 * HOUR,
        credential_id="cred-1",
    )
    args.update(overrides)
    return issue_credential(key, kid, **args)


def check(text, **overrides):
    args = dict(
        now=NOW,
        door="main",
        trusted_keys=TRUSTED,
        is_revoked=lambda cid: False,
        visitor_limit_hours=24,
    )
    args.update(overrides)
    return verify(text, **args)


def reason(text, **overrides):
    return check(text, **overrides).reason


def test_valid_resident_is_let_in():
    d = check(issue())
    assert d.ok and d.reason == ""
    assert (d.holder_id, d.holder_name, d.kind, d.credential_id) == ("res-42", "Ana Lima", "resident", "cred-1")


def test_several_issuer_keys_are_trusted_at_once():
    assert check(issue(OLD_ISSUER, "2025-01")).ok
    assert check(issue(NEW_ISSUER, "2026-01")).ok


@pytest.mark.parametrize("text", ["", "hello", "EP1:", "EP1:ABC", "EP1:a", "HC1:6BFOXN", "EP1:" + b45encode(b"\xa0"), None, 42])
def test_malformed(text):
    d = check(text)
    assert not d.ok and d.reason == "malformed"
    assert d.holder_id == "" and d.credential_id == ""  # nothing read from an unchecked code


def test_unknown_issuer():
    stranger = Ed25519PrivateKey.generate()
    assert reason(issue(stranger, "other-building")) == "unknown_issuer"
    # A retired key is no longer trusted.
    assert reason(issue(OLD_ISSUER, "2025-01"), trusted_keys={"2026-01": NEW_ISSUER.public_key()}) == "unknown_issuer"


def test_forged_signature_with_a_trusted_kid():
    forger = Ed25519PrivateKey.generate()
    d = check(issue(forger, "2026-01"))
    assert d.reason == "bad_signature" and d.holder_id == ""


def test_altered_claims_break_the_signature():
    """Swap in a payload naming somebody else, keeping the genuine signature."""
    genuine = cbor2.loads(b45decode(issue()[4:]))
    protected, unprotected, payload, signature = genuine.value
    claims = cbor2.loads(payload)
    claims[2] = "res-99"
    forged = cbor2.CBORTag(18, [protected, dict(unprotected), cbor2.dumps(claims), signature])
    assert reason("EP1:" + b45encode(cbor2.dumps(forged))) == "bad_signature"


def test_expired_by_one_second():
    text = issue(not_after=NOW)
    assert check(text, now=NOW - 1).ok
    assert reason(text, now=NOW) == "expired"  # not-after is exclusive
    assert reason(text, now=NOW + 1) == "expired"


def test_not_yet_valid():
    text = issue(not_before=NOW + 10)
    assert reason(text) == "not_yet_valid"
    assert check(text, now=NOW + 10).ok


def test_revocation_takes_effect():
    revoked = set()
    text = issue()
    assert check(text, is_revoked=revoked.__contains__).ok
    revoked.add("cred-1")
    d = check(text, is_revoked=revoked.__contains__)
    assert d.reason == "revoked" and d.holder_id == "res-42"  # known holder: worth logging
    assert check(issue(credential_id="cred-2"), is_revoked=revoked.__contains__).ok


def test_moved_out_resident_loses_every_credential():
    moved_out = {"res-42"}
    for cid in ("cred-1", "cred-2"):
        assert reason(issue(credential_id=cid), is_holder_revoked=moved_out.__contains__) == "revoked"
    assert check(issue(holder_id="res-7"), is_holder_revoked=moved_out.__contains__).ok


def test_wrong_door():
    assert reason(issue(doors=["garage"])) == "wrong_door"
    assert check(issue(doors=["garage", "main"])).ok


def test_visitor_within_limit():
    d = check(issue(kind="visitor", not_before=NOW - 2 * HOUR, not_after=NOW + 2 * HOUR))
    assert d.ok and d.kind == "visitor"


def test_visitor_refused_beyond_the_time_limit():
    """Issued for 3 days; the property allows visitors 24 hours after not-before."""
    text = issue(kind="visitor", not_before=NOW, not_after=NOW + 72 * HOUR)
    assert check(text, now=NOW + 24 * HOUR - 1).ok
    assert reason(text, now=NOW + 24 * HOUR) == "visitor_limit"
    assert reason(text, now=NOW + 48 * HOUR) == "visitor_limit"
    assert reason(text, now=NOW + 72 * HOUR) == "expired"
    assert check(text, now=NOW + 48 * HOUR, visitor_limit_hours=72).ok
    # The limit is for visitors only.
    assert check(issue(not_before=NOW, not_after=NOW + 72 * HOUR), now=NOW + 48 * HOUR).ok


def test_visitors_disabled():
    assert reason(issue(kind="visitor"), allow_visitors=False) == "visitors_disabled"
    assert check(issue(kind="resident"), allow_visitors=False).ok


# -- rotating resident codes ------------------------------------------------------------
def device_credential(**overrides):
    return issue(device_key=DEVICE.public_key(), **overrides)


def test_rotating_code_accepted_now_and_refused_two_minutes_later():
    code = rotating_code(device_credential(), DEVICE, now=NOW)
    assert check(code, now=NOW).ok
    assert reason(code, now=NOW + 120) == "expired"


def test_rotating_code_allows_one_step_of_clock_skew():
    dc = device_credential()
    for phone_offset in (-30, 0, 30):
        assert check(rotating_code(dc, DEVICE, now=NOW + phone_offset), now=NOW).ok
    assert reason(rotating_code(dc, DEVICE, now=NOW + 120), now=NOW) == "not_yet_valid"
    assert reason(rotating_code(dc, DEVICE, now=NOW - 120), now=NOW) == "expired"


def test_rotating_code_is_single_use():
    guard = ReplayGuard()
    dc = device_credential()
    code = rotating_code(dc, DEVICE, now=NOW)
    assert check(code, replay=guard).ok
    assert reason(code, replay=guard) == "replayed"
    assert reason(code, now=NOW + 10, replay=guard) == "replayed"
    # An older code is refused too; the next one is fine.
    assert reason(rotating_code(dc, DEVICE, now=NOW - 30), replay=guard) == "replayed"
    assert check(rotating_code(dc, DEVICE, now=NOW + 30), now=NOW + 30, replay=guard).ok


def test_rotating_code_signed_by_another_phone():
    thief = Ed25519PrivateKey.generate()
    dc = issue(device_key=thief.public_key())
    code = rotating_code(dc, thief, now=NOW)
    assert check(code).ok  # sanity: the thief's own credential works
    # Splice the resident's device credential under the thief's signature.
    outer = cbor2.loads(b45decode(code[4:]))
    protected, unprotected, payload, signature = outer.value
    inner = cbor2.loads(payload)
    inner[-65541] = b45decode(device_credential()[4:])
    spliced = cbor2.CBORTag(18, [protected, dict(unprotected), cbor2.dumps(inner), signature])
    assert reason("EP1:" + b45encode(cbor2.dumps(spliced))) == "bad_signature"


def test_device_credential_alone_is_not_a_key():
    assert reason(device_credential()) == "malformed"


def test_rotating_code_still_obeys_the_credential():
    dc = device_credential(doors=["garage"])
    assert reason(rotating_code(dc, DEVICE, now=NOW)) == "wrong_door"
    dc = device_credential(not_after=NOW - 1)
    assert reason(rotating_code(dc, DEVICE, now=NOW)) == "expired"
    revoked = {"cred-1"}.__contains__
    assert reason(rotating_code(device_credential(), DEVICE, now=NOW), is_revoked=revoked) == "revoked"


def test_replay_guard_forgets_old_steps():
    guard = ReplayGuard()
    dc = device_credential()
    assert check(rotating_code(dc, DEVICE, now=NOW), replay=guard).ok
    for i in range(1, 5):  # other residents, later
        other = issue(device_key=DEVICE.public_key(), credential_id=f"c{i}")
        assert check(rotating_code(other, DEVICE, now=NOW + 600 * i), now=NOW + 600 * i, replay=guard).ok
    assert len(guard._last) == 1


# -- messages -----------------------------------------------------------------------
def test_every_reason_has_a_plain_message_in_every_language():
    from panel.ui.strings import Strings, languages
    for language in languages():
        table = Strings(language)._table["reasons"]
        for code in REASONS:
            assert table.get(code, "").endswith("."), (language, code)


def test_every_reason_is_reachable():
    seen = {
        reason("nonsense"),
        reason(issue(Ed25519PrivateKey.generate(), "2026-01")),
        reason(issue(Ed25519PrivateKey.generate(), "x")),
        reason(issue(not_after=NOW - 1, not_before=NOW - 10)),
        reason(issue(not_before=NOW + 1)),
        reason(issue(), is_revoked=lambda c: True),
        reason(issue(doors=["side"])),
        reason(issue(kind="visitor", not_before=NOW - 25 * HOUR)),
        reason(issue(kind="visitor"), allow_visitors=False),
        reason(issue(kind="visitor", holder_id="v", invited_by="res-9"), is_holder_revoked={"res-9"}.__contains__),
    }
    guard = ReplayGuard()
    code = rotating_code(device_credential(), DEVICE, now=NOW)
    check(code, replay=guard)
    seen.add(reason(code, replay=guard))
    assert seen == set(REASONS)


def test_a_visitor_key_for_next_month_stops_when_its_inviter_moves_out():
    next_month = NOW + 30 * 24 * HOUR
    key = issue(holder_id="visitor:inv-1", kind="visitor", invited_by="res-42", credential_id="inv-1",
                not_before=next_month, not_after=next_month + 2 * HOUR)
    moved_out = {"res-42"}
    assert check(key, now=next_month + 60).ok                  # the host still lives here
    d = check(key, now=next_month + 60, is_holder_revoked=moved_out.__contains__)
    assert (d.ok, d.reason, d.holder_id) == (False, "inviter_moved_out", "visitor:inv-1")
    # Another resident's move-out, or a staff invitation (no inviter), changes nothing.
    assert check(issue(holder_id="visitor:inv-2", kind="visitor", not_before=next_month,
                       not_after=next_month + HOUR), now=next_month + 60, is_holder_revoked=moved_out.__contains__).ok
    assert check(key, now=next_month + 60, is_holder_revoked={"res-7"}.__contains__).ok


def test_only_a_visitor_key_names_an_inviter():
    with pytest.raises(ValueError, match="invited_by"):
        issue(invited_by="res-42")
