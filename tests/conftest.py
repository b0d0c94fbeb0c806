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



def pytest_asyncio_loop_factories(config, item):
    """The panel runs on uvloop (panel/cli.py): so do the tests."""
    import uvloop
    return {"uvloop": uvloop.new_event_loop}
