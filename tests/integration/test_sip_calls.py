"""Calls over SIP with real peers from Debian on 127.0.0.1: Kamailio as registrar and
proxy, baresip as the resident's SIP phone (tests/sip_peers.py), the real panel."""

from __future__ import annotations

import asyncio

import cv2
import pytest

from panel.config import SipAccount
from tests.sip_peers import Baresip, Kamailio, group_alive
from tests.support import make_config, start_panel, until

PANEL_PASSWORD, OLIVIA_PASSWORD = "panel-secret", "olivia-secret"


def property_file(tmp_path, olivia_uri: str):
    path = tmp_path / "property.toml"
    path.write_text(f'[property]\nid = "p"\nname = "Test Court"\n\n'
                    f'[[residents]]\nid = "r01"\nfirst_name = "Olivia"\nlast_name = "Smith"\nunit = "1A"\n'
                    f'sip = "{olivia_uri}"\n\n'
                    f'[[residents]]\nid = "r02"\nfirst_name = "James"\nlast_name = "Smith"\nunit = "1A"\n')
    return path


async def sip_panel(tmp_path, kamailio: Kamailio, *, password: str = PANEL_PASSWORD, expires: int = 600,
                    ring_timeout: float = 30.0, media_timeout: float = 15.0, door_code: str = "", srtp: str = "off"):
    account = SipAccount(uri=f"sip:panel@{kamailio.host}", password=password, registrar=kamailio.host)
    config = make_config(tmp_path, directory={"property_file": str(property_file(tmp_path, f"sip:olivia@{kamailio.host}"))},
                         call={"ring_timeout_seconds": ring_timeout})
    config = config.replace("sip", accounts=[account], listen="127.0.0.1:0", register_expires=expires,
                            media_timeout_seconds=media_timeout, door_code=door_code, srtp=srtp)
    return await start_panel(config)


@pytest.fixture
async def world(tmp_path):
    kamailio = await Kamailio(tmp_path / "kamailio", {"panel": PANEL_PASSWORD, "olivia": OLIVIA_PASSWORD}).start()
    started = []

    async def panel(**kwargs):
        running = await sip_panel(tmp_path, kamailio, **kwargs)
        started.append(running)
        return running

    async def phone(user: str = "olivia", password: str = OLIVIA_PASSWORD, auto_answer: bool = False,
                    **options) -> Baresip:
        b = await Baresip(tmp_path / f"baresip-{user}-{len(started)}", user, registrar=kamailio.host,
                          password=password, auto_answer=auto_answer, **options).start()
        started.append(b)
        await until(lambda: b.command("reginfo"), what="baresip up")
        await until(_registered(b), timeout=10, what=f"baresip {user} registered at Kamailio")
        return b

    try:
        yield kamailio, panel, phone
    finally:
        for thing in reversed(started):
            if isinstance(thing, Baresip):
                await thing.stop()
            else:
                await thing.client.close()
                if not thing.task.done():
                    await thing.stop()
        await kamailio.stop()


def _registered(b: Baresip):
    async def check():
        return "OK" in (await b.command("reginfo"))["data"]
    return check


async def call_olivia(panel, screen: str = "calling") -> None:
    """A visitor at the screen: Directory, O-L-I, taps Olivia Smith; the screen it leads to."""
    await panel.press("Directory")
    for key in "OLI":
        await panel.press(key)
    assert (await panel.press("Olivia Smith"))["screen"] == screen


async def olivia_ringing(world, phone_options: dict | None = None, **panel_options):
    """Olivia's baresip registered, a panel registered calling her, her phone ringing."""
    _, panel, phone = world
    olivia = await phone(**(phone_options or {}))
    p = await panel(**panel_options)
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await call_olivia(p)
    await olivia.expect("CALL_INCOMING")
    return p, olivia


async def status(panel) -> dict:
    return await panel.get_json("/status")


async def test_baresip_registers_at_kamailio_and_a_wrong_password_is_refused(world):
    kamailio, _, phone = world
    await phone()
    wrong = await Baresip(kamailio.dir.parent / "wrong", "olivia", registrar=kamailio.host, password="nope").start()
    try:
        await until(lambda: wrong.command("reginfo"), what="baresip up")
        await until(_err(wrong), timeout=10, what="registration refused")
    finally:
        await wrong.stop()


def _err(b: Baresip):
    async def check():
        return "ERR" in (await b.command("reginfo"))["data"]
    return check


async def test_panel_registers_with_digest_and_renews_before_expiry(world):
    _, panel, _ = world
    p = await panel(expires=2)
    registration = p.app.sip.ua.registrations[0]
    await until(lambda: registration.registered, timeout=5, what="panel registered")
    assert p.app.state.calls_available          # calls available: SIP is the panel's call path
    await until(lambda: registration.registered_count >= 3, timeout=5, what="two renewals")
    assert registration.registered


async def test_wrong_password_is_refused_with_a_clear_message(world, caplog):
    _, panel, _ = world
    p = await panel(password="wrong")
    registration = p.app.sip.ua.registrations[0]
    await until(lambda: registration.state.startswith("refused"), timeout=5, what="registration refused")
    assert registration.state == "refused: wrong user name or password"
    assert "registration refused: wrong user name or password" in caplog.text
    assert (await status(p))["sip"]["accounts"] == [{"uri": registration.account.uri,
                                                     "state": "refused: wrong user name or password"}]
    assert not p.app.state.sip_online
    await call_olivia(p, "call_ended")          # calls unavailable


async def test_resident_answers_audio_flows_both_ways_resident_hangs_up(world):
    p, olivia = await olivia_ringing(world)
    await until(lambda: p.app.state.ringing, what="the panel shows ringing (180)")
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    media = p.app.sip.calls.media
    await until(lambda: media.packets_received >= 25 and media.packets_sent >= 25, timeout=5,
                what="RTP both ways")
    async def baresip_heard_25():
        return await olivia.audio_received() >= 25
    await until(baresip_heard_25, what="baresip receives the panel's audio (25 packets)")
    await until(lambda: p.app.sip.calls.speaker.frames >= 10, what="the panel plays the resident's audio")
    assert p.app.sip.calls.speaker.peak_rms > 0.05       # baresip's tone, not silence
    await olivia.hangup()
    await until(lambda: p.app.state.screen.value == "call_ended", what="call ended")
    assert p.app.state.message == "hung_up"
    assert p.app.sip.calls.media is None


async def test_visitor_ends_the_call_with_bye(world):
    p, olivia = await olivia_ringing(world)
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    await p.press("End call")
    await olivia.expect("CALL_CLOSED")


@pytest.mark.parametrize("code", [486, 603])
async def test_resident_declines(world, code):
    p, olivia = await olivia_ringing(world)
    await olivia.hangup(code, "Busy Here" if code == 486 else "Decline")
    await until(lambda: p.app.state.screen.value == "call_ended", what="call ended")
    assert p.app.state.message == "declined"


async def test_visitor_cancels_while_it_rings(world):
    p, olivia = await olivia_ringing(world)
    await p.press("Cancel")
    await olivia.expect("CALL_CLOSED")
    assert p.app.sip.calls.calls == {}


async def test_no_answer_times_out_and_the_phone_stops_ringing(world):
    p, olivia = await olivia_ringing(world, ring_timeout=2)
    await until(lambda: p.app.state.screen.value == "call_ended", timeout=5, what="no answer")
    assert p.app.state.message == "no_answer"
    await olivia.expect("CALL_CLOSED")


async def test_resident_not_registered_is_unavailable(world):
    _, panel, _ = world
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await call_olivia(p)
    await until(lambda: p.app.state.screen.value == "call_ended", what="404 from Kamailio")
    assert p.app.state.message == "unavailable"


async def test_visitor_hangs_up_exactly_as_the_resident_answers(world):
    p, olivia = await olivia_ringing(world)
    await asyncio.gather(olivia.answer(), p.press("Cancel"))
    await olivia.expect("CALL_CLOSED")          # CANCEL in time, or BYE right after the 200
    # The tap lands on Cancel (back to the directory) or, if the 200 came first, on End call
    # in the same place (home): either way the call is over at both ends.
    assert p.app.state.screen.value in ("directory", "home")
    await until(lambda: not p.app.sip.calls.calls and p.app.sip.calls.media is None, what="nothing left of the call")


async def test_direct_call_to_a_phone_with_no_server(tmp_path):
    olivia = await Baresip(tmp_path / "baresip", "olivia").start()
    p = None
    try:
        config = make_config(tmp_path, directory={"property_file": str(property_file(tmp_path, olivia.aor))})
        p = await start_panel(config.replace("sip", accounts=[SipAccount(uri="sip:panel@127.0.0.1")],
                                             listen="127.0.0.1:0"))
        assert p.app.state.sip_online          # an account for direct calls needs no registration
        await call_olivia(p)
        await olivia.expect("CALL_INCOMING")
        await olivia.answer()
        await until(lambda: p.app.state.screen.value == "in_call", what="In call")
        await until(lambda: p.app.sip.calls.media.packets_received >= 10, what="audio from the phone")
        await p.press("End call")
        await olivia.expect("CALL_CLOSED")
    finally:
        if p is not None:
            await p.client.close()
            await p.stop()
        await olivia.stop()


async def test_two_devices_of_one_resident_ring_first_answer_wins_the_other_is_cancelled(world):
    _, panel, phone = world
    a, b = await phone(), await phone()
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await call_olivia(p)
    await a.expect("CALL_INCOMING")
    await b.expect("CALL_INCOMING")             # Kamailio forks to both registrations
    await a.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    await b.expect("CALL_CLOSED")               # Kamailio CANCELs the other branch
    assert not a.of("CALL_CLOSED")
    await a.hangup()
    await until(lambda: p.app.state.screen.value == "call_ended", what="call ended")


async def test_two_devices_answering_at_once_the_panel_keeps_one_and_ends_the_other(world):
    _, panel, phone = world
    # Both answer the moment they ring: both 200s pass Kamailio (a proxy forwards every 2xx).
    a, b = await phone(auto_answer=True), await phone(auto_answer=True)
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await call_olivia(p)
    # Usually both 200s reach the panel (the second is ACKed and ended with BYE); on a loaded
    # machine one device may still be cancelled by Kamailio first. Either way one call stays up.
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    # The panel keeps the first and ends the other with BYE: exactly one call stays up.
    await until(lambda: len(a.of("CALL_CLOSED")) + len(b.of("CALL_CLOSED")) == 1, what="one device released")
    kept = b if a.of("CALL_CLOSED") else a
    media = p.app.sip.calls.media
    before = media.packets_received
    await until(lambda: media.packets_received >= before + 25, what="the kept call's audio goes on")
    assert not kept.of("CALL_CLOSED") and p.app.state.screen.value == "in_call"
    await kept.hangup()
    await until(lambda: p.app.state.screen.value == "call_ended", what="call ended")


async def test_panel_refuses_incoming_calls_and_unregisters_at_shutdown(world):
    kamailio, panel, phone = world
    caller = await phone()
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await caller.dial(f"sip:panel@{kamailio.host}")
    assert "480" in (await caller.expect("CALL_CLOSED"))["param"]      # reached the panel: not yet answered
    await p.stop()
    await caller.dial(f"sip:panel@{kamailio.host}")
    assert "404" in (await caller.expect("CALL_CLOSED", count=2))["param"]     # no binding left at Kamailio


async def test_a_resident_phone_that_vanishes_mid_call_ends_the_call(world):
    p, olivia = await olivia_ringing(world, media_timeout=1)
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    await until(lambda: p.app.sip.calls.media.packets_received >= 10, what="audio from the phone")
    await olivia.vanish()
    await until(lambda: p.app.state.screen.value == "call_ended", timeout=5, what="the call ended on silence")
    assert p.app.state.message == "network"
    assert p.app.sip.calls.calls == {} and p.app.sip.calls.media is None


async def test_shutdown_in_a_call_with_a_vanished_phone_is_prompt_and_clean(world, caplog):
    p, olivia = await olivia_ringing(world)
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    await olivia.vanish()
    await p.stop()                              # the BYE gets no answer
    assert "shutdown: closing the sip calls failed" not in caplog.text


async def test_the_door_code_pressed_in_the_call_opens_the_door_and_ends_the_call(world):
    p, olivia = await olivia_ringing(world, door_code="*9")
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    after = (await p.get_json("/events"))["last_id"]
    await olivia.command("sndcode", "*")
    await olivia.command("sndcode", "9")
    await until(lambda: p.app.state.screen.value == "door_open", what="Door open")
    await until(lambda: p.app.strike.unlocked, what="relay energized")
    await olivia.expect("CALL_CLOSED")          # the panel hangs up once the door is open
    [entry] = (await p.get_json(f"/events?after={after}"))["events"]
    assert (entry["granted"], entry["method"], entry["who"]) == (True, "sip", "Olivia Smith")   # opened from a SIP phone


async def test_wrong_door_codes_are_logged_and_too_many_end_the_call(world):
    p, olivia = await olivia_ringing(world, door_code="9")
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    for key in "12":
        await olivia.command("sndcode", key)
    refused = await until(_refusals(p, 2), what="two wrong codes logged")
    assert [(e["granted"], e["method"], e["reason"]) for e in refused] == [(False, "sip", "wrong_door_code")] * 2
    assert p.app.state.screen.value == "in_call" and not p.app.strike.unlocked    # a wrong code does not interrupt
    await olivia.command("sndcode", "3")
    await olivia.expect("CALL_CLOSED")          # the third wrong code ends the call
    await until(lambda: p.app.state.screen.value == "call_ended", what="call ended")
    assert not p.app.strike.unlocked


def _refusals(p, count: int):
    async def check():
        events = [e for e in (await p.get_json("/events"))["events"] if not e["granted"]]
        return events if len(events) >= count else None
    return check


class _Replies(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)


async def test_a_door_code_from_another_dialog_does_not_open(world):
    p, olivia = await olivia_ringing(world, door_code="9")
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    [call] = p.app.sip.calls.calls.values()
    host, port = p.app.sip.ua.transport.address
    transport, peer = await asyncio.get_running_loop().create_datagram_endpoint(_Replies, local_addr=("127.0.0.1", 0))
    try:
        me = transport.get_extra_info("sockname")[1]
        body = "Signal=9\r\nDuration=160\r\n"
        # Another call's Call-ID, then this call's Call-ID with a To tag that is not the panel's.
        for call_id, to_tag in (("some-other-call", "x"), (call.call_id, "not-the-panels-tag")):
            transport.sendto((f"INFO sip:panel@{host}:{port} SIP/2.0\r\n"
                              f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{to_tag}\r\n"
                              f"From: <sip:olivia@127.0.0.1>;tag={call.dialog.remote_tag}\r\n"
                              f"To: <sip:panel@127.0.0.1>;tag={to_tag}\r\nCall-ID: {call_id}\r\nCSeq: 9 INFO\r\n"
                              f"Content-Type: application/dtmf-relay\r\nContent-Length: {len(body)}\r\n\r\n{body}"
                              ).encode(), (host, port))
            reply = await asyncio.wait_for(peer.queue.get(), 5)
            assert reply.startswith(b"SIP/2.0 481 "), reply[:40]
    finally:
        transport.close()
    assert p.app.state.screen.value == "in_call" and not p.app.strike.unlocked


async def test_calls_go_out_on_the_account_that_registered(tmp_path):
    kamailio = await Kamailio(tmp_path / "k", {"panel": PANEL_PASSWORD, "lobby": "lobby-secret",
                                               "olivia": OLIVIA_PASSWORD}).start()
    olivia = p = None
    try:
        olivia = await Baresip(tmp_path / "olivia", "olivia", registrar=kamailio.host, password=OLIVIA_PASSWORD).start()
        await until(_registered(olivia), timeout=10, what="olivia registered")
        broken = SipAccount(uri=f"sip:panel@{kamailio.host}", password="wrong", registrar=kamailio.host)
        working = SipAccount(uri=f"sip:lobby@{kamailio.host}", password="lobby-secret", registrar=kamailio.host)
        config = make_config(tmp_path, directory={"property_file": str(property_file(tmp_path, f"sip:olivia@{kamailio.host}"))})
        p = await start_panel(config.replace("sip", accounts=[broken, working], listen="127.0.0.1:0"))
        first, second = p.app.sip.ua.registrations
        await until(lambda: first.state.startswith("refused") and second.registered, what="one refused, one registered")
        assert p.app.state.sip_online             # one registered account is enough
        await call_olivia(p)
        incoming = await olivia.expect("CALL_INCOMING")
        assert "sip:lobby@" in incoming["param"]     # the call went out on the account that works
    finally:
        if p is not None:
            await p.client.close()
            await p.stop()
        if olivia is not None:
            await olivia.stop()
        await kamailio.stop()


async def test_the_resident_phone_decodes_the_panel_camera(world, tmp_path):
    p, olivia = await olivia_ringing(world)
    await olivia.answer()
    await until(lambda: p.app.state.screen.value == "in_call", what="In call")
    await until(lambda: p.app.sip.calls.media.video.frames_sent >= 3, what="video frames sent")
    seen = tmp_path / "seen.png"
    await olivia.snapshot_received(seen)        # baresip writes the next frame it decodes
    await until(seen.exists, timeout=5, what="baresip decoded a frame of the panel's video")
    image = (await until(lambda: [cv2.imread(str(seen))] if cv2.imread(str(seen)) is not None else None,
                         what="the PNG written"))[0]
    camera = p.app.camera.latest
    assert image.shape == camera.shape                  # the camera's own size, 640x480
    assert image.std() > 10 and abs(float(image.mean()) - float(camera.mean())) < 20   # the scene, not black


async def test_a_resident_with_no_sip_uri_on_a_panel_with_no_cloud_is_unavailable_at_once(world):
    _, panel, _ = world
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    await p.press("Directory")
    for key in "JAM":
        await p.press(key)
    await p.press("James Smith")
    await until(lambda: p.app.state.screen.value == "call_ended", timeout=2, what="unavailable, not a ring timeout")
    assert p.app.state.message == "unavailable"


BAD_DATAGRAMS = [
    b"\x00\xff garbage",
    b"INVITE sip:panel@127.0.0.1 SIP/2.0\r\n\r\n",                                  # no headers at all
    b"BYE sip:panel@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: not an address\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n",                     # a To that does not parse
    b"SIP/2.0 200 OK\r\nVia: nonsense\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: x\r\n\r\n",
]


async def test_malformed_datagrams_leave_the_sip_socket_working(world, caplog):
    _, panel, phone = world
    olivia = await phone()
    p = await panel()
    await until(lambda: p.app.state.sip_online, what="panel registered")
    host, port = p.app.sip.ua.transport.address
    transport, peer = await asyncio.get_running_loop().create_datagram_endpoint(_Replies, local_addr=("127.0.0.1", 0))
    try:
        for datagram in BAD_DATAGRAMS:
            transport.sendto(datagram, (host, port))
        me = transport.get_extra_info("sockname")[1]
        transport.sendto((f"OPTIONS sip:panel@{host}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKok\r\n"
                          f"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:panel@127.0.0.1>\r\nCall-ID: ok\r\n"
                          f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), (host, port))
        reply = await asyncio.wait_for(peer.queue.get(), 5)
        assert reply.startswith(b"SIP/2.0 200 ")      # still listening, and the bad ones got no answer
    finally:
        transport.close()
    assert "Exception in callback" not in caplog.text and "Traceback" not in caplog.text   # dropped, one line each
    await call_olivia(p)
    await olivia.expect("CALL_INCOMING")


async def test_the_peers_stop_with_every_process_they_forked(tmp_path):
    kamailio = await Kamailio(tmp_path / "k", {"a": "b"}).start()
    phone = await Baresip(tmp_path / "b", "a", registrar=kamailio.host, password="b").start()
    await phone.stop()
    await kamailio.stop()
    assert not group_alive(kamailio.proc) and not group_alive(phone.proc)   # Kamailio's children too
