"""The door outcome is the truth: a release the relay did not confirm is not reported as
an open door. A Modbus board on a pty that is powered and on the bus but never answers
(ModbusBoard.stop(): a hung board, a cut bus): the access log, the screen, the local
API, the resident's app and `status` all say the door was not released."""

from __future__ import annotations

import pytest

from panel.sim.modbus_board import ModbusBoard
from panel.sim.softphone import Softphone
from panel.access.keys import public_key_text
from tests.integration.test_hal_relay import quiet_pymodbus  # noqa: F401 (autouse)
from tests.integration.test_qr_door import ISSUER, KID, credential, show
from tests.support import LOOPBACK, make_config, start_cloud_and_panel, start_panel, stop_world, until

pytestmark = pytest.mark.timeout(40)


@pytest.fixture
async def board():
    async with ModbusBoard(baudrate=115200) as b:
        yield b


def on_board(board) -> dict:
    return dict(door={"backend": "modbus"},
                modbus={"port": board.port, "baudrate": 115200, "timeout_seconds": 0.2})


@pytest.fixture
async def panel(tmp_path, board):
    running = await start_panel(make_config(tmp_path, access={"trusted_keys": {KID: public_key_text(ISSUER)}},
                                            **on_board(board)))
    yield running
    await running.session.close()
    await running.stop()


async def entries(panel, count: int = 1) -> list[dict]:
    async def fetch():
        events = [e for e in (await panel.get_json("/events"))["events"] if e["kind"] == "access"]
        return events if len(events) >= count else None
    return await until(fetch, timeout=10, what=f"{count} access entries")


async def labels(panel) -> list[str]:
    return [w["label"] for w in (await panel.get_json("/ui"))["widgets"]]


async def test_a_key_at_a_silent_board_is_logged_not_released_and_the_screen_says_so(panel, board):
    await board.stop()                              # powered, on the bus, never answers
    await show(panel, credential())
    [entry] = await entries(panel)
    assert entry["method"] == "qr" and entry["who"] == "Olivia Smith"
    assert entry["granted"] is False and entry["reason"] == "door_not_released"
    await until(lambda: panel.app.state.screen.value == "door_fault", what="the door-fault screen")
    shown = await labels(panel)
    assert "Door could not be opened" in shown and "Door open, please enter" not in shown
    assert board.coils[0] is False


async def test_status_says_unknown_while_the_relay_state_is_unknown(panel, board):
    assert (await panel.get_json("/status"))["door"]["relay"] == "locked"
    await board.stop()
    await panel.post_json("/door/open", {"who": "HIL rig"})
    await entries(panel)
    door = (await panel.get_json("/status"))["door"]
    assert door["relay"] == "unknown" and "no answer" in door["fault"]


async def test_the_local_api_does_not_claim_a_release_the_board_never_confirmed(panel, board):
    await board.stop()
    result = await panel.post_json("/door/open", {"who": "HIL rig"})
    assert result.get("outcome") == "pending" and result["release_id"]
    [entry] = await entries(panel)
    assert entry["granted"] is False and entry["reason"] == "door_not_released"
    assert entry["release_id"] == result["release_id"]
    assert "no answer" in entry["detail"]


async def test_a_release_the_board_confirms_is_logged_granted_with_the_door_open_screen(panel, board):
    result = await panel.post_json("/door/open", {"who": "HIL rig"})
    [entry] = await entries(panel)
    assert entry["granted"] is True and entry["release_id"] == result["release_id"]
    assert board.transitions_of(0)[0].state is True
    assert (await panel.get_json("/status"))["screen"] == "door_open"


async def test_the_residents_app_is_told_the_relay_failed(tmp_path, board):
    cloud, panel = await start_cloud_and_panel(tmp_path, **on_board(board))
    phone = Softphone(cloud.device_url("r01", "phone-a"), "phone-a", ice_addresses=LOOPBACK)
    try:
        await phone.connect()
        await board.stop()
        door = await phone.remote_unlock()
        assert door["ok"] is False and door["reason"] == "relay_fault"
        [entry] = await entries(panel)
        assert entry["method"] == "app" and entry["granted"] is False and entry["reason"] == "door_not_released"
        await board.start()
        assert (await phone.remote_unlock())["ok"] is True
    finally:
        await stop_world(cloud, panel, [phone])
