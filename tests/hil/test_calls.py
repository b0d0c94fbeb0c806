"""A visitor calls a resident from the directory; the resident answers in a browser."""

from __future__ import annotations

import contextlib

import pytest_asyncio

from tests.hil import flows
from tests.hil.flows import need
from tests.hil.resident import Browser


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    b = Browser()
    try:
        yield b
    finally:
        await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def tenant(rig):
    """A resident moved in for this flow (and out after it), with the resident app link."""
    need(rig, "office")
    t = await rig.office.move_in()
    try:
        yield t
    finally:
        with contextlib.suppress(AssertionError):
            await rig.office.move_out(t.id)


async def test_call_answered_in_browser_opens_door(rig, flow, browser, tenant):
    need(rig, "strike")
    await flows.call_answered_opens_door(rig, flow, browser, tenant)


async def test_decline_then_call_again(rig, flow, browser, tenant):
    await flows.decline_then_call_again(rig, flow, browser, tenant)


async def test_no_answer(rig, flow, browser, tenant):
    await flows.no_answer(rig, flow, browser, tenant)


async def test_remote_unlock(rig, flow, browser, tenant):
    need(rig, "strike")
    await flows.remote_unlock(rig, flow, browser, tenant)
