"""What the panel's log says when its cloud URL is wrong or the cloud is not there: one
line that says why, said again only when the reason changes (it retries every few
seconds for days)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from panel.call.signaling import SignalingClient
from panel.config import load
from panel.sim.cloud import DevCloud
from tests.support import until


def problems(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "panel.call.signaling" and r.levelno >= logging.WARNING]


@pytest.fixture
async def client_for():
    tasks = []

    def start(url: str) -> SignalingClient:
        client = SignalingClient(url, "token", on_message=lambda m: None, on_link=lambda up: None,
                                 first_backoff=0.01, max_backoff=0.02)
        tasks.append(asyncio.create_task(client.run()))
        return client
    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_cloud_not_there_then_hanging_up_is_one_line_each(caplog, client_for):
    caplog.set_level(logging.INFO, "panel.call.signaling")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))             # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        client = client_for(f"ws://127.0.0.1:{port}/ws/panel")
        await until(lambda: problems(caplog), what="the first problem logged")
        refused = problems(caplog)
        assert len(refused) == 1
        assert f"cannot reach the cloud at 127.0.0.1:{port}: connection refused" in refused[0]
        assert "check [cloud] url" in refused[0] and "Errno" not in refused[0]

        # Now something listens there but hangs up at once: a new reason, said once over many tries.
        hung_up = 0

        async def hang_up(reader, writer):
            nonlocal hung_up
            hung_up += 1
            writer.close()
        sock.listen()
        server = await asyncio.start_server(hang_up, sock=sock)
        async with server:
            await until(lambda: hung_up >= 5, what="five attempts answered by hanging up")
        said = problems(caplog)
        assert said[:1] == refused and len(said) == 2, said
        assert "hung up before the WebSocket was open" in said[1]
        assert client.problem == said[1].split(": ", 1)[1]


async def test_a_wrong_path_says_so(caplog, client_for):
    caplog.set_level(logging.INFO, "panel.call.signaling")
    cloud = DevCloud(load(None).property_file)
    await cloud.start()
    try:
        client_for(f"ws://127.0.0.1:{cloud.port}/ws/wrong")
        await until(lambda: problems(caplog), what="the problem logged")
        assert problems(caplog) == [f"cloud link (ws://127.0.0.1:{cloud.port}/ws/wrong): no WebSocket at this URL "
                                    "(HTTP 404): check the path in [cloud] url; retrying"]
    finally:
        await cloud.stop()
