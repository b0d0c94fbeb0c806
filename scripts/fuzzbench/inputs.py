"""Random and mutated inputs: the fuzzer's vocabulary, drawn from a random.Random
so that one seed gives one input."""

from __future__ import annotations

import random

import cbor2


def rand_bytes(rng: random.Random, n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


_TEXT_POOL = "aZ09 :-_.,/\\\"'{}[]\x00\n\t\u00e9\u20ac\U0001f600\ud800EP1HC$%*+"


def rand_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_TEXT_POOL) for _ in range(n))


def rand_scalar(rng: random.Random):
    return rng.choice([
        None, True, False, 0, -1, 1, 2**31, -2**63, 2**64 + 1, 10**30, 0.5, -0.0, float("nan"), float("inf"),
        -float("inf"), 1e308, "", "x", "main", "c1", "d1", rand_text(rng, rng.randint(0, 12)),
        rng.randint(-10**6, 10**6), rng.random() * 1e4 - 5e3,
    ])


def rand_json(rng: random.Random, depth: int = 3):
    """Any JSON value Python's json module can produce (NaN and Infinity included)."""
    r = rng.random()
    if depth <= 0 or r < 0.6:
        return rand_scalar(rng)
    if r < 0.8:
        return [rand_json(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {rand_text(rng, rng.randint(0, 6)): rand_json(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def rand_cbor(rng: random.Random, depth: int = 3):
    r = rng.random()
    if depth <= 0 or r < 0.55:
        return rng.choice([None, True, False, rng.randint(-70000, 70000), -2**64, 2**64 - 1, rng.random(),
                           rand_text(rng, rng.randint(0, 10)).replace("\ud800", "?"), rand_bytes(rng, rng.choice([0, 1, 16, 32, 64]))])
    if r < 0.7:
        return [rand_cbor(rng, depth - 1) for _ in range(rng.randint(0, 5))]
    if r < 0.8:
        return cbor2.CBORTag(rng.choice([0, 1, 2, 18, 24, 55799, rng.randint(0, 2**16)]), rand_cbor(rng, depth - 1))
    keys = [rng.choice([1, 2, 4, 5, 7, 8, -8, -65537, -65538, -65539, -65540, -65541, rng.randint(-70000, 10)])
            for _ in range(rng.randint(0, 6))]
    return {k: rand_cbor(rng, depth - 1) for k in keys}


def mutate_bytes(rng: random.Random, data: bytes, ops: int | None = None) -> bytes:
    """1-4 edits of the kinds fuzzers find bugs with: bit flips, interesting bytes,
    deletions, insertions, duplicated or truncated chunks."""
    out = bytearray(data)
    for _ in range(ops or rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(out) + 1)
        if op == 0 and out and i < len(out):
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and i < len(out):
            out[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2 and out:
            del out[i:i + rng.randint(1, 8)]
        elif op == 3:
            out[i:i] = rand_bytes(rng, rng.randint(1, 8))
        elif op == 4 and out:
            j = rng.randrange(len(out))
            out[i:i] = out[j:j + rng.randint(1, 32)]
        elif op == 5:
            del out[i:]
        else:
            out += rand_bytes(rng, rng.randint(1, 16))
    return bytes(out)


def mutate_json(rng: random.Random, value, depth: int = 0):
    """A template message with a field dropped, retyped or added (recursively)."""
    if isinstance(value, dict) and value:
        out = dict(value)
        key = rng.choice(list(out))
        r = rng.random()
        if r < 0.2 and key != "type":
            del out[key]
        elif r < 0.6:
            out[key] = mutate_json(rng, out[key], depth + 1) if depth < 3 and rng.random() < 0.5 else rand_json(rng)
        else:
            out[rng.choice([key, rand_text(rng, 4), "id", "residents", "cards", "ids", "device"])] = rand_json(rng)
        return out
    if isinstance(value, list) and value:
        out = list(value)
        i = rng.randrange(len(out))
        r = rng.random()
        if r < 0.3:
            del out[i]
        elif r < 0.7:
            out[i] = mutate_json(rng, out[i], depth + 1) if depth < 3 else rand_json(rng)
        else:
            out.append(rand_json(rng) if rng.random() < 0.5 else out[i])
        return out
    return rand_json(rng)
