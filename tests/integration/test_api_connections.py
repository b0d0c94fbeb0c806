"""Connections to the local API stay bounded and timed: idle sockets cannot lock the API
out (not even at a low open-file limit), a request head and body must arrive in time,
and beyond the limit a client gets a clear 503 and a close, never a traceback in the log."""

from __future__ import annotations

import asyncio
import logging
import resource
import socket

import pytest

from panel.remote import PanelProcess
from tests.configs import with_simulated_parts
from tests.support import TOKEN, make_config, start_panel, until


@pytest.fixture
async def panel(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    running = await start_panel(make_config(tmp_path, api={"header_timeout_seconds": 0.5, "body_timeout_seconds": 0.5,
                                                           "max_connections": 8}))
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()
    assert not [r for r in caplog.records if r.exc_info], "the API logged a traceback"


async def raw(panel, data: bytes):
    reader, writer = await asyncio.open_connection("127.0.0.1", panel.app.api.port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def test_a_request_head_that_never_ends_is_closed(panel):
    reader, writer = await raw(panel, b"GET /api/v1/status HTTP/1.1\r\nHost: panel\r\n")
    async with asyncio.timeout(5):
        assert await reader.read() == b""           # closed by the panel, after the header timeout
    writer.close()


async def test_a_body_that_never_arrives_is_408(panel):
    reader, writer = await raw(panel, b"POST /api/v1/touch HTTP/1.1\r\nHost: panel\r\n"
                                      b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"x\": 1")
    async with asyncio.timeout(5):
        answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408") and b"api.body_timeout_seconds" in answer


async def test_beyond_the_limit_with_every_connection_busy_a_client_gets_503(panel):
    # Eight connections each in a request (its body still coming): none of them is idle.
    busy = [await raw(panel, b"POST /api/v1/door/open HTTP/1.1\r\nHost: panel\r\nAuthorization: Bearer "
                             + TOKEN.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
            for _ in range(8)]
    await until(lambda: len(panel.app.api.busy) == 8, what="eight requests under way")
    async with panel.request("GET", "/status") as r:
        assert r.status == 503 and "API connections open" in (await r.json())["error"]
    for _, writer in busy:
        writer.close()
    await until(lambda: not panel.app.api.busy, what="the requests ended")
    assert (await panel.status())["door"]["relay"] == "locked"


async def test_idle_connections_give_way_to_a_new_client(panel):
    idle = [await raw(panel, b"") for _ in range(30)]        # connected, never sending a thing
    assert (await panel.status())["screen"] == "home"
    for _, writer in idle:
        writer.close()


def low_open_file_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))


async def test_idle_sockets_at_a_low_open_file_limit_do_not_lock_the_api_out(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text(with_simulated_parts(f'[panel]\nstate_dir = "{tmp_path / "state"}"\n'
                                         f'[api]\nport = 0\ntoken = "{TOKEN}"\n'))
    panel = await PanelProcess.run(path, preexec_fn=low_open_file_limit).astart()
    port = int(panel.api_url.split(":")[2].split("/")[0])
    sockets = []
    try:
        for _ in range(600):            # three times the panel's open-file limit, none sending a thing
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sockets.append(s)
        async with panel.client(timeout=10) as client:
            assert (await client.status())["screen"] == "home"
    finally:
        for s in sockets:
            s.close()
        await panel.astop()
    assert "Traceback" not in panel.stderr, panel.stderr
    assert "at most" in panel.stderr and "open-file limit is 200" in panel.stderr


def test_the_systemd_unit_leaves_room_for_the_connections():
    from panel.api.connections import RESERVED_FDS
    from panel.config import ASSETS, ApiSection
    unit = (ASSETS / "systemd" / "entry-panel.service").read_text()
    [limit] = [int(line.split("=")[1]) for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert limit >= ApiSection().max_connections + RESERVED_FDS * 2
