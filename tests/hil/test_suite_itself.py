"""The suite against deliberately broken peers: the matching flow fails, and its
message says what was expected and what was seen."""

from __future__ import annotations

import pytest

from panel.sim.cloud import DevCloud
from panel.sim.modbus_board import ModbusBoard
from tests.hil import flows
from tests.hil.report import Flow
from tests.hil.rigs import emulator_rig


@pytest.fixture(autouse=True)
def only_on_the_emulator(request):
    if request.config.getoption("panel", default=None):
        pytest.skip("a test of the suite itself on emulators of its own, not of the panel at --panel")


class RelayNeverCloses(ModbusBoard):
    """The board answers every write as done, but its relay never moves (a dead coil):
    the panel reads back what it wrote and believes the door opened."""

    async def _action(self, function_code, start_address, address, count, registers, values):
        return None


class ForgetsRevocations(DevCloud):
    """A cloud that moves a resident out of the directory but never sends the revocations:
    the panel keeps honouring the keys they handed out."""

    async def moved_out(self, resident_id: str) -> None:
        await self.push_directory()


async def test_a_relay_that_never_closes_fails_the_key_flow_at_the_board(tmp_path):
    rig = await emulator_rig(tmp_path / "rig", board_class=RelayNeverCloses)
    rig.timing.slack_seconds = 1.0          # it will time out: no need to wait long
    try:
        key = await rig.office.invite()
        with pytest.raises(AssertionError) as failure:
            await flows.key_opens(rig, Flow("broken", rig), key, what="a visitor's key")
        message = str(failure.value)
        assert "waiting for the door released (a visitor's key) at the Modbus board's coil 0" in message
        assert "no change" in message
        # ... although the panel itself believes it opened the door:
        await rig.events.wait(flows.access(True, method="qr"), timeout=5, what="the panel's own word")
    finally:
        await rig.close()


async def test_a_panel_that_keeps_revoked_keys_fails_the_move_out_flow(tmp_path):
    rig = await emulator_rig(tmp_path / "rig", cloud_class=ForgetsRevocations)
    try:
        tenant = await rig.office.move_in()
        guest = await rig.office.invite(by=tenant)
        await rig.office.move_out(tenant.id)
        await flows.office_reached_panel(rig)
        with pytest.raises(AssertionError) as failure:
            await flows.key_refused(rig, Flow("broken", rig), guest, "inviter_moved_out",
                                    what="the guest key of a resident who moved out")
        assert str(failure.value).startswith("the guest key of a resident who moved out: the panel let it in "
                                             "(expected refused for 'inviter_moved_out')")
    finally:
        await rig.close()


async def test_the_flows_run_unchanged_against_a_panel_on_another_host(tmp_path):
    """The panel in a network namespace of its own: its API over HTTPS on the veth (pinned
    by the fingerprint it prints), its cloud link and its relay board the rig's, no loopback."""
    from tests.hil.rigs import Netns
    if Netns.available():
        pytest.skip(Netns.available())
    rig = await emulator_rig(tmp_path / "rig", netns=True)
    try:
        assert rig.panel.url.startswith("https://10.200."), rig.panel.url
        assert rig.office.url.startswith("http://10.200."), rig.office.url
        key = await rig.office.invite()
        await flows.key_opens(rig, Flow("netns", rig), key, what="a visitor's key")
        await flows.restart_mid_release(rig, Flow("netns", rig))
    finally:
        await rig.close()
