"""Shared fixtures."""

import pytest

from tests.support import make_config, start_panel


@pytest.fixture
async def panel(tmp_path):
    running = await start_panel(make_config(tmp_path))
    try:
        yield running
    finally:
        await running.session.close()
        if not running.task.done():
            await running.stop()
