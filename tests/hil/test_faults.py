"""Faults the rig makes: the relay board unplugged, the cloud gone, the panel killed
mid-release, the door forced or held open."""

from __future__ import annotations

from tests.hil import flows
from tests.hil.flows import need


async def test_relay_fault_out_of_order_then_recovery(rig, flow):
    need(rig, "strike", "relay_unplug")
    await flows.relay_fault_out_of_order_recovery(rig, flow)


async def test_cloud_down_key_still_opens(rig, flow):
    need(rig, "office", "strike", "cloud_control")
    key = await rig.office.invite()
    await flows.cloud_down_key_still_opens(rig, flow, key)


async def test_panel_restarted_mid_release_relocks_log_intact(rig, flow):
    need(rig, "strike", "restart")
    await flows.restart_mid_release(rig, flow)


async def test_door_forced_alarm(rig, flow):
    need(rig, "door_sensing")
    await flows.door_forced(rig, flow)


async def test_door_held_open_alarm(rig, flow):
    need(rig, "door_sensing", "strike")
    await flows.door_held_open(rig, flow, rig.timing.held_open_seconds)


async def test_exit_button_opens(rig, flow):
    need(rig, "exit_button", "strike")
    await flows.exit_button_opens(rig, flow)
