"""panel.remote.PanelClient against an in-process panel: errors carry status and body,
waits fail saying what they waited for."""

from __future__ import annotations

import pytest

from panel.remote import ApiError, PanelClient
from tests.support import TOKEN


async def test_errors_raise_with_status_and_body(panel):
    async with PanelClient(panel.url, "wrong-token") as stranger:
        with pytest.raises(ApiError) as e:
            await stranger.status()
    assert e.value.status == 401 and "bearer token" in e.value.body and "GET /status" in str(e.value)
    with pytest.raises(ApiError) as e:
        await panel.client.touch(-5, 10)
    assert e.value.status == 400 and "outside" in e.value.body
    with pytest.raises(LookupError, match="no widget labelled 'Nope' on home"):
        await panel.client.press("Nope")


async def test_the_client_drives_the_panel(panel):
    async with PanelClient(panel.url, TOKEN) as api:
        assert (await api.press("Directory"))["screen"] == "directory"
        await api.until_screen("directory", timeout=2)
        assert (await api.ui())["screen"] == "directory"
        assert (await api.screen_png())[:4] == b"\x89PNG"
        assert (await api.open_door("test"))["opening"] is True
        await api.until_status(lambda s: s["door"]["relay"] == "unlocked", timeout=5, what="the relay")
        with pytest.raises(TimeoutError, match="waiting for screen 'in_call'; last status"):
            await api.until_screen("in_call", timeout=0.2)
