"""The demo's terminal during a call: what the panel says, not aioice's candidate-pair
chatter (a dozen INFO lines a call); that stays for log_level = "debug"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from panel.remote import PanelProcess
from panel.sim.softphone import Softphone
from tests.integration.test_calls import call_olivia
from tests.integration.test_cli import ENV
from tests.support import until


def device_url(link: str, device: str) -> str:
    """The resident app's socket for a demo link (what the web app opens)."""
    parts = urlsplit(link)
    q = parse_qs(parts.query)
    return f"ws://{parts.netloc}/ws/device?resident={q['resident'][0]}&device={device}&token={q['token'][0]}"


async def test_a_demo_call_leaves_no_ice_chatter_in_the_log(tmp_path):
    with PanelProcess.demo(home=tmp_path, env=ENV) as demo:
        phone = Softphone(device_url(demo.resident("Olivia Smith").link, "phone"), "phone")
        await phone.connect()
        try:
            async with demo.client() as api:
                await api.until_status(lambda s: s["cloud"]["link"] == "up", what="the demo's cloud link")
                await call_olivia(api)
                call_id = (await phone.expect("incoming"))["call_id"]
                await phone.accept(call_id)
                await until(lambda: phone.video_frames >= 3, timeout=20, what="video at the phone: ICE done")
                await phone.hangup(call_id)
                await api.until_screen("home", timeout=15)
        finally:
            await phone.close()
    chatter = [line for line in demo.stderr.splitlines() if " aioice" in line or " aiortc" in line]
    assert chatter == [], "\n".join(chatter)
    assert "Traceback" not in demo.stderr
