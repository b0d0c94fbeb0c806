"""Request bodies, read within limits: a JSON object (application/json, small, shallow,
plain numbers) or an image (PNG or JPEG, at most `api.max_frame_bytes`), each within
`api.body_timeout_seconds`. Anything else is a one-line 4xx saying what to send."""

from __future__ import annotations

import asyncio
import json
import math
import re

from aiohttp import web

from .errors import ApiError

MAX_JSON_BYTES = 64 * 1024          # the largest request the API takes as JSON (a touch is 40 bytes)
MAX_JSON_DEPTH = 8                  # objects and lists nested at most this deep
MAX_NUMBER_CHARS = 32               # digits of a number in JSON (Python's int() of 10**6 digits takes seconds)
IMAGE_TYPES = ("image/png", "image/jpeg", "application/octet-stream")   # octet-stream: the bytes say which

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


async def read_json(request: web.Request, timeout: float, optional: bool = False) -> dict:
    """The body as a JSON object ({} for an empty optional body)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise ApiError(413, f"the JSON body is {request.content_length} bytes; at most {MAX_JSON_BYTES} are taken")
    raw = await _read(request, timeout, MAX_JSON_BYTES, "the JSON body")
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "expected a JSON object as the request body")
    if request.content_type != "application/json":
        raise ApiError(415, f"send the body as Content-Type: application/json (got {request.content_type})")
    try:
        text = raw.decode("utf-8")
        if _depth(text) > MAX_JSON_DEPTH:
            raise ApiError(400, f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
        body = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object as the request body")
    return body


async def read_image(request: web.Request, timeout: float, max_bytes: int) -> bytes:
    """The body as encoded image bytes (not decoded here: see hal.camera.decode_image)."""
    if request.content_type not in IMAGE_TYPES:
        raise ApiError(415, f"send the image as Content-Type: image/png or image/jpeg (got {request.content_type})")
    if (request.content_length or 0) > max_bytes:
        raise ApiError(413, _too_big(request.content_length, max_bytes))
    return await _read(request, timeout, max_bytes, "the image")


async def _read(request: web.Request, timeout: float, max_bytes: int, what: str) -> bytes:
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        raise ApiError(408, f"{what} did not arrive within {timeout:g} s (api.body_timeout_seconds)",
                       {"Connection": "close"}) from None
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, _too_big(None, max_bytes)) from None
    if len(raw) > max_bytes:
        raise ApiError(413, _too_big(len(raw), max_bytes))
    return raw


def _too_big(size: int | None, limit: int) -> str:
    return f"the body is {f'{size} bytes' if size else 'too large'}; the limit is {limit} bytes (api.max_frame_bytes)"


def _depth(text: str) -> int:
    """How deeply objects and lists nest, counted without parsing (strings left out)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _int(digits: str) -> int:
    if len(digits) > MAX_NUMBER_CHARS:
        raise ApiError(400, f"a number in the JSON body has more than {MAX_NUMBER_CHARS} digits")
    return int(digits)


def _float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise ApiError(400, f"a number in the JSON body is too large or too long ({text[:20]}...)")
    return value


def _constant(name: str):
    raise ApiError(400, f"{name} is not a number the API takes; send finite numbers")
