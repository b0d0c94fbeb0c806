"""Calls end to end with real peers on 127.0.0.1: the panel (aiortc), the dev cloud,
and Python softphones (aiortc) as the resident's devices. Every way a call can end."""

from __future__ import annotations

import io

import pytest

from panel.access import qr_code
from panel.sim.cloud import LOG_KEEP
from panel.sim.softphone import Softphone
from tests.support import LOOPBACK, assert_stock, start_cloud_and_panel, stock_aiortc_peer, stop_world, until

OLIVIA = "r01"          # Olivia Smith, flat 1A, in the demo property


@pytest.fixture
async def world(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path)
    phones: list[Softphone] = []

    async def phone(device: str, resident: str = OLIVIA) -> Softphone:
        p = Softphone(cloud.device_url(resident, device), device, ice_addresses=LOOPBACK)
        await p.connect()
        phones.append(p)
        return p

    try:
        yield cloud, panel, phone
    finally:
        await stop_world(cloud, panel, phones)


async def call_olivia(panel) -> None:
    """A visitor at the screen: Directory, types O-L-I, taps Olivia Smith."""
    await panel.press("Directory")
    for key in "OLI":
        await panel.press(key)
    result = await panel.press("Olivia Smith")
    assert result["screen"] == "calling"


async def in_call_with(panel, a: Softphone, frames: int = 1) -> str:
    """The visitor calls Olivia; phone `a` accepts and receives `frames` video frames. The call id."""
    await call_olivia(panel)
    call_id = (await a.expect("incoming"))["call_id"]
    await a.accept(call_id)
    await a.expect("offer")
    await until(lambda: a.video_frames >= frames, timeout=10, what="video")
    return call_id


async def screen(panel) -> str:
    return (await panel.get_json("/status"))["screen"]


async def test_both_devices_ring_first_accept_wins_media_flows_open_door_ends(world):
    cloud, panel, phone = world
    a, b = await phone("phone-a"), await phone("phone-b")
    await call_olivia(panel)
    incoming = await a.expect("incoming")
    assert (await b.expect("incoming"))["call_id"] == incoming["call_id"]
    await until(lambda: panel.app.state.ringing, what="ringing reported to the panel")
    assert (await panel.get_json("/status"))["call"]["state"] == "ringing"

    await a.accept(incoming["call_id"])
    assert (await b.expect("answered_elsewhere"))["call_id"] == incoming["call_id"]
    await until(lambda: panel.app.state.device == "phone-a", what="in call with phone-a")
    status = await panel.get_json("/status")
    assert status["screen"] == "in_call" and status["call"]["device"] == "phone-a"

    await a.expect("offer")
    await until(lambda: a.video_frames >= 3, timeout=10, what="video frames at the phone")
    await until(lambda: a.audio_frames >= 10, timeout=10, what="panel audio at the phone")
    await until(lambda: panel.app.cloud.speaker.frames >= 10 and panel.app.cloud.speaker.peak_rms > 0.01, timeout=10,
                what="the resident heard on the panel")
    assert b.pc is None                      # the other device never got media

    door = await a.open_door(incoming["call_id"])
    assert door["ok"] is True
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    assert {"type": "ended", "call_id": incoming["call_id"], "reason": "door_opened"} in a.seen
    assert await screen(panel) == "door_open"
    await until(lambda: panel.app.calls.session is None, what="media closed on the panel")
    events = (await panel.get_json("/events"))["events"]
    assert [(e["method"], e["who"], e["granted"]) for e in events] == [("call", "Olivia Smith", True)]


async def test_decline_then_call_again_then_accept(world):
    cloud, panel, phone = world
    a, b = await phone("phone-a"), await phone("phone-b")
    await call_olivia(panel)
    first = await a.expect("incoming")
    await b.expect("incoming")
    await b.decline(first["call_id"])
    assert (await a.expect("cancelled"))["reason"] == "declined"
    await until(lambda: panel.app.state.message == "declined", what="declined on the panel")
    assert (await panel.widget("Olivia Smith declined the call"))["role"] == "heading"

    result = await panel.press("Call again")
    assert result["screen"] == "calling"
    second = await a.expect("incoming")
    assert second["call_id"] != first["call_id"]
    await a.accept(second["call_id"])
    await until(lambda: panel.app.state.screen.value == "in_call", what="in call")
    await a.expect("offer")
    await until(lambda: a.video_frames >= 1, timeout=10, what="video")


async def test_no_answer_stops_the_ringing(tmp_path):
    cloud, panel = await start_cloud_and_panel(tmp_path, call={"ring_timeout_seconds": 1})
    a = Softphone(cloud.device_url(OLIVIA, "phone-a"), "phone-a", ice_addresses=LOOPBACK)
    try:
        await a.connect()
        await call_olivia(panel)
        await a.expect("incoming")
        assert (await a.expect("cancelled"))["reason"] == "no_answer"
        assert panel.app.state.message == "no_answer"
        assert (await panel.widget("Olivia Smith did not answer"))["role"] == "heading"
    finally:
        await a.close()
        await panel.session.close()
        await panel.stop()
        await cloud.stop()


async def test_visitor_cancels_while_ringing(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await call_olivia(panel)
    await a.expect("incoming")
    assert (await panel.press("Cancel"))["screen"] == "directory"
    assert (await a.expect("cancelled"))["reason"] == "cancelled"
    assert cloud.calls == {}


async def test_a_stock_aiortc_peer_beside_a_panel_call_is_aiortcs_own(world):
    """The panel's encoders and ICE restriction belong to its call's connection: the
    softphone and a stock RTCPeerConnection made during the call, in this same process,
    encode and gather as aiortc does (the softphone restricts its ICE: its own setting)."""
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.rtcrtpsender import RTCRtpSender

    from panel.call import encoders, ice

    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a, frames=3)
    await until(lambda: a.audio_frames >= 3 and panel.app.cloud.speaker.frames >= 3, timeout=10,
                what="audio both ways (each side's audio encoder made)")

    stock = await stock_aiortc_peer()
    assert_stock(stock)

    session = panel.app.calls.session
    senders = {s.kind: s for s in session.pc.getSenders()}
    assert {type(s) for s in senders.values()} == {encoders.PanelRtpSender}
    video, audio = (senders[k]._RTCRtpSender__encoder for k in ("video", "audio"))
    assert isinstance(video, encoders.PanelVp8Encoder) and video.max_bitrate == 1_000_000
    assert isinstance(audio, encoders.PanelOpusEncoder) and audio.codec.bit_rate == 32_000
    for t in session.pc.getTransceivers():
        transport = t.receiver.transport.transport
        assert ice.allowed(transport.iceGatherer) == {"127.0.0.1"}
        assert {c.ip for c in transport.iceGatherer.getLocalCandidates()} == {"127.0.0.1"}
        assert {c.ip for c in transport.getRemoteCandidates()} <= {"127.0.0.1"}

    [phone_sender] = [s for s in a.pc.getSenders() if s.track is not None]
    assert type(phone_sender) is RTCRtpSender
    assert type(phone_sender._RTCRtpSender__encoder) is OpusEncoder
    assert all(ice.allowed(t.receiver.transport.transport.iceGatherer) == {"127.0.0.1"}
               for t in a.pc.getTransceivers())


async def test_resident_hangs_up(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    call_id = await in_call_with(panel, a)
    await a.hangup(call_id)
    await until(lambda: panel.app.state.message == "hung_up", what="call ended on the panel")
    assert await screen(panel) == "call_ended"
    await until(lambda: panel.app.calls.session is None, what="media closed on the panel")


async def test_visitor_ends_the_call(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a)
    assert (await panel.press("End call"))["screen"] == "home"
    assert (await a.expect("ended"))["reason"] == "visitor_hung_up"
    await until(lambda: a.pc is None and panel.app.calls.session is None, what="media closed on both sides")


async def test_a_key_shown_during_a_call_opens_the_door_and_ends_the_call(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a, frames=3)
    # A neighbour with a key walks up while the visitor talks: the camera still looks for codes.
    key = cloud.issuer.issue(holder_id="r02", holder_name="Noah Jones", credential_id="cred-noah")
    buf = io.BytesIO()
    qr_code(key).save(buf, kind="png", scale=6, border=4)
    async with panel.request("POST", "/camera/frame", data=buf.getvalue()) as r:
        assert r.status == 200, await r.text()
    await until(lambda: panel.app.strike.unlocked, what="relay energized by the key")
    assert (await a.expect("ended"))["reason"] == "access_granted"
    assert await screen(panel) == "access_granted"
    await until(lambda: a.pc is None and panel.app.calls.session is None, what="media closed on both sides")
    [entry] = (await panel.get_json("/events"))["events"]
    assert (entry["method"], entry["who"], entry["granted"]) == ("qr", "Noah Jones", True)


async def test_device_app_closed_mid_call(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a)
    await a.close()                          # the tab or the app goes away
    await until(lambda: panel.app.state.screen.value == "call_ended", what="call ended on the panel")
    assert panel.app.state.message == "gone"
    await until(lambda: panel.app.calls.session is None, what="media closed on the panel")


async def test_network_dropped_mid_call_ends_the_call(world, monkeypatch):
    import aioice.ice
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.1)    # ICE consent lost after ~0.6 s, not 30 s
    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a)
    a.drop_network()
    await until(lambda: panel.app.state.screen.value == "call_ended", timeout=15, what="call ended on the panel")
    assert panel.app.state.message == "network"
    assert (await a.expect("ended"))["reason"] == "network"
    await until(lambda: panel.app.calls.session is None, what="media closed on the panel")


async def test_open_door_refused_from_a_device_not_in_the_call(world):
    cloud, panel, phone = world
    a, b = await phone("phone-a"), await phone("phone-b")
    await call_olivia(panel)
    call_id = (await a.expect("incoming"))["call_id"]
    await b.expect("incoming")
    await a.accept(call_id)
    await b.expect("answered_elsewhere")
    await until(lambda: panel.app.state.device == "phone-a", what="in call with phone-a")
    door = await b.open_door(call_id)
    assert door == {"type": "door", "call_id": call_id, "ok": False, "reason": "not_in_call", "door": "Main entrance"}
    assert not panel.app.strike.unlocked and await screen(panel) == "in_call"
    async def refusal_logged():
        return (await panel.get_json("/events"))["events"]
    [entry] = await until(refusal_logged, what="refusal logged")
    assert not entry["granted"] and entry["reason"] == "not_in_call" and entry["method"] == "call"


async def test_open_door_refused_while_only_ringing(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await call_olivia(panel)
    call_id = (await a.expect("incoming"))["call_id"]
    assert (await a.open_door(call_id))["ok"] is False
    assert not panel.app.strike.unlocked


async def test_remote_unlock_without_a_call(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    assert (await a.remote_unlock())["ok"] is True
    await until(lambda: panel.app.strike.unlocked, what="relay energized")
    async def logged():
        return (await panel.get_json("/events"))["events"]
    [entry] = await until(logged, what="unlock logged")
    assert entry["method"] == "app" and entry["who"] == "Olivia Smith" and entry["granted"]


async def test_remote_unlock_refused_after_move_out(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await panel.app.gate.revoke(f"holder:{OLIVIA}", "moved out")
    door = await a.remote_unlock()
    assert door["ok"] is False and door["reason"] == "revoked"
    assert not panel.app.strike.unlocked


async def test_the_dev_clouds_signaling_log_keeps_only_the_latest_messages(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    for i in range(LOG_KEEP + 50):                   # a demo left running for days
        await a.send({"type": "hangup", "call_id": f"gone-{i}"})
    await until(lambda: cloud.log and cloud.log[-1].get("call_id") == f"gone-{LOG_KEEP + 49}",
                what="the last message logged")
    assert len(cloud.log) == LOG_KEEP
    assert not any(m.get("call_id") == "gone-0" for m in cloud.log)


async def test_video_off_and_on(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    call_id = await in_call_with(panel, a)
    await a.video(False, call_id)
    await until(lambda: not panel.app.calls.session.video_on, what="video off on the panel")
    await a.video(True, call_id)
    await until(lambda: panel.app.calls.session.video_on, what="video on again")
    seen = a.video_frames
    await until(lambda: a.video_frames > seen + 3, timeout=10, what="video flowing again")


async def test_panel_shutdown_ends_the_call_on_the_device(world):
    cloud, panel, phone = world
    a = await phone("phone-a")
    await in_call_with(panel, a)
    await panel.stop()
    assert (await a.expect("ended"))["reason"] in ("shutdown", "panel_offline")
    assert not panel.app.strike.unlocked


async def test_calling_a_resident_with_no_device_is_unavailable(world):
    cloud, panel, phone = world
    await call_olivia(panel)
    await until(lambda: panel.app.state.message == "unavailable", what="unavailable")
    assert (await panel.widget("Calls are unavailable right now"))["role"] == "heading"


async def test_cloud_down_then_back(world, tmp_path):
    cloud, panel, phone = world
    port = cloud.port
    await cloud.stop()
    await until(lambda: not panel.app.state.cloud_online, what="link down")
    assert (await panel.get_json("/status"))["cloud"]["link"] == "down"
    assert (await panel.widget("Calls unavailable right now. QR keys still work."))["role"] == "banner"
    cloud.port = port
    await cloud.start()
    await until(lambda: panel.app.state.cloud_online, timeout=15, what="link up again")
    a = await phone("phone-a")
    await call_olivia(panel)
    await a.expect("incoming")


@pytest.mark.parametrize("codec", ["H264", "VP8"])
async def test_video_codec_follows_the_configured_preference(tmp_path, codec):
    cloud, panel = await start_cloud_and_panel(tmp_path, call={"video_codecs": [codec]})
    a = Softphone(cloud.device_url(OLIVIA, "phone-a"), "phone-a", ice_addresses=LOOPBACK)
    try:
        await a.connect()
        await call_olivia(panel)
        call_id = (await a.expect("incoming"))["call_id"]
        await a.accept(call_id)
        offer = await a.expect("offer")
        video = offer["sdp"].split("m=video", 1)[1]
        first_payload = video.split("\r\n", 1)[0].split()[2]      # " PORT PROTO PT1 PT2 ..."
        assert f"a=rtpmap:{first_payload} {codec}/90000" in video
        await until(lambda: a.video_frames >= 3, timeout=15, what=f"{codec} frames decoded at the phone")
    finally:
        await a.close()
        await panel.session.close()
        await panel.stop()
        await cloud.stop()
