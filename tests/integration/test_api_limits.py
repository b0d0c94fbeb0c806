"""What the local API takes: images checked by their header before decoding, JSON bodies
small, shallow and with plain numbers, the content type each route expects. Each refusal
is one clear line naming the limit, never a 500 or a traceback, and the panel runs on."""

from __future__ import annotations

import json
import logging
import struct
import zlib

import cv2
import numpy as np
import pytest

from tests.support import make_config, start_panel


def png_header_only(width: int, height: int) -> bytes:
    """A small, valid PNG of any size: 1-bit grey, every row zero (it compresses to almost nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """The start of a JPEG whose frame header (SOF0) names this size; nothing to decode after it."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\0" * 64


@pytest.fixture
async def panel(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    running = await start_panel(make_config(tmp_path, api={"max_frame_pixels": 1_000_000, "max_frame_bytes": 200_000}))
    try:
        yield running
    finally:
        await running.session.close()
        await running.stop()
    assert not [r for r in caplog.records if r.exc_info], "a refusal logged a traceback"


async def post(panel, path, body: bytes, content_type: str):
    async with panel.request("POST", path, data=body, headers={"Content-Type": content_type}) as r:
        return r.status, (await r.json())["error"] if r.status >= 400 else await r.json()


@pytest.mark.parametrize("image,kind", [(lambda: png_header_only(2000, 2000), "image/png"),
                                        (lambda: jpeg_claiming(30000, 30000), "image/jpeg"),
                                        (lambda: png_header_only(1001, 1000), "application/octet-stream")])
async def test_an_image_too_large_to_decode_is_refused_by_its_header(panel, image, kind):
    status, error = await post(panel, "/camera/frame", image(), kind)
    assert status == 413
    assert "api.max_frame_pixels" in error and "1000000" in error
    latest = panel.app.camera.latest
    assert latest is None or latest.shape[:2] == (480, 640)         # the synthetic scene, nothing injected
    assert (await panel.status())["screen"] == "home"


async def test_an_image_at_the_limit_is_taken(panel):
    ok, png = cv2.imencode(".png", np.full((1000, 1000, 3), 128, np.uint8))
    status, body = await post(panel, "/camera/frame", png.tobytes(), "image/png")
    assert status == 200 and (body["width"], body["height"]) == (1000, 1000)
    ok, jpeg = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
    assert (await panel.inject_frame(jpeg.tobytes()))["width"] == 640      # the client names the type itself


async def test_a_body_over_max_frame_bytes_is_refused_before_it_is_read(panel):
    status, error = await post(panel, "/camera/frame", b"\x89PNG" + b"\0" * 250_000, "image/png")
    assert status == 413 and "api.max_frame_bytes" in error and "200000" in error


HOSTILE_JSON = [
    ('{"x": 1' + "1" * 5000 + ', "y": 1}', "digits"),                  # int() of it: ValueError -> 500
    ('{"x": 1e999, "y": 1}', "too large"),                              # float: inf
    ('{"x": NaN, "y": 1}', "NaN"),
    ('{"x": 1, "y": 1, "z": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested"),   # RecursionError -> 500
    ('{"x": 1, "y": 1, "pad": "' + "a" * 70_000 + '"}', "65536"),       # over MAX_JSON_BYTES
]


@pytest.mark.parametrize("text,words", HOSTILE_JSON)
async def test_hostile_json_gets_a_clear_4xx_not_a_traceback(panel, text, words):
    for path in ("/touch", "/door/open"):
        status, error = await post(panel, path, text.encode(), "application/json")
        assert status in (400, 413), (path, status, error)
        assert words in error
    assert (await panel.status())["door"]["relay"] == "locked"


CONTENT_TYPES = [("/touch", json.dumps({"x": 10, "y": 10}).encode(), "text/plain", "application/json"),
                 ("/touch", json.dumps({"x": 10, "y": 10}).encode(), "application/octet-stream", "application/json"),
                 ("/door/open", b'{"who": "x"}', "application/x-www-form-urlencoded", "application/json"),
                 ("/camera/frame", png_header_only(64, 64), "application/json", "image/png or image/jpeg"),
                 ("/camera/frame", png_header_only(64, 64), "multipart/form-data; boundary=x", "image/png")]


@pytest.mark.parametrize("path,body,content_type,expected", CONTENT_TYPES)
async def test_a_wrong_content_type_is_415_naming_the_expected_one(panel, path, body, content_type, expected):
    status, error = await post(panel, path, body, content_type)
    assert status == 415 and expected in error
    assert (await panel.status())["door"]["relay"] == "locked"
