#!/usr/bin/env python3
"""QR decoder benchmark: read rate and decode time, one thread, frame in memory.

    .venv/bin/python scripts/bench_qr.py [--photos DIR] [--repeat N]

1. The shared photo set (../shared/qr/photos, scored as its README says): per
   decoder, images read correctly, median and p95 decode ms over the images (each
   image's time is the median of N runs).
2. Camera-like frames (640x480 and 1280x720): a rotating credential QR on a phone
   held at an angle, with blur, noise and uneven light; plus the same scene without
   the code, which is what a panel's camera shows nearly all the time and so what
   the fallback steps cost per frame.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from panel.access import issue_credential, qr_code, rotating_code  # noqa: E402
from panel.scanner.decoders import CascadeDecoder, ZbarDecoder, ZxingDecoder  # noqa: E402
from panel.scanner.files import read_gray  # noqa: E402

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "qr" / "photos"


def load_photos(root: Path):
    items = []
    for expected in sorted(root.rglob("*.expected.json")):
        stem = expected.name[: -len(".expected.json")]
        image = next(p for p in expected.parent.glob(stem + ".*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
        items.append((read_gray(image), json.loads(expected.read_text())))
    return items


def correct(codes, expected) -> bool:
    if expected["match"] == "substring":
        return any(c and any(c in t for t in expected["texts"]) for c in codes)
    return any(c in expected["texts"] for c in codes)


def timed(decoder, gray, repeat):
    times, codes = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        codes = decoder.decode(gray)
        times.append((time.perf_counter() - start) * 1000.0)
    return codes, statistics.median(times)


def p95(values):
    return float(np.percentile(values, 95))


def camera_frame(text: str, size: tuple[int, int], with_code: bool = True, seed: int = 7) -> np.ndarray:
    """A grey camera frame: textured wall, light falling off to one side, and (if
    ``with_code``) a phone screen showing the code, tilted, slightly out of focus."""
    width, height = size
    rng = np.random.default_rng(seed)
    wall = cv2.resize(rng.integers(60, 140, (height // 8, width // 8), dtype=np.uint8), (width, height))
    light = np.linspace(1.1, 0.6, width, dtype=np.float32)[None, :]
    frame = wall.astype(np.float32) * light
    if with_code:
        modules = np.array(list(qr_code(text).matrix_iter(border=3)), dtype=np.uint8)
        screen = np.where(modules == 1, 35, 215).astype(np.float32)  # a phone screen's contrast
        side = int(height * 0.55)  # the phone fills about half the frame's height
        screen = cv2.resize(screen, (side, side), interpolation=cv2.INTER_NEAREST)
        x0, y0 = width * 0.3, height * 0.2
        corners = np.float32([[x0, y0], [x0 + side * 0.95, y0 + side * 0.06],
                              [x0 + side * 0.98, y0 + side * 1.02], [x0 - side * 0.04, y0 + side * 0.93]])
        matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [side, 0], [side, side], [0, side]]), corners)
        warped = cv2.warpPerspective(screen, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=-1)
        frame = np.where(warped >= 0, warped, frame)
    frame = cv2.GaussianBlur(frame, (0, 0), 1.2)
    frame += rng.normal(0, 4, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def credential_text() -> str:
    issuer, device = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    now = time.time()
    device_credential = issue_credential(
        issuer, "bench", holder_id="res-0042", holder_name="Ana Lima", kind="resident",
        doors=["main"], not_before=now, not_after=now + 86400, device_key=device.public_key(),
    )
    return rotating_code(device_credential, device, now=now)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--repeat", type=int, default=5, help="runs per image (median taken)")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one thread, as on a busy panel

    decoders = [ZbarDecoder(), ZxingDecoder(), CascadeDecoder(), CascadeDecoder(use_zbar=True)]
    for d in decoders:  # warm up (library loading, first-call allocations)
        d.decode(np.zeros((64, 64), np.uint8))

    if args.photos.is_dir():
        photos = load_photos(args.photos)
        print(f"Photo set: {args.photos} ({len(photos)} images), one thread, median of {args.repeat} runs per image\n")
        print("| decoder | read correctly | rate | median ms | p95 ms |")
        print("|---|---:|---:|---:|---:|")
        for d in decoders:
            results = [timed(d, gray, args.repeat) for gray, _ in photos]
            read = sum(correct(codes, exp) for (codes, _), (_, exp) in zip(results, photos))
            ms = [t for _, t in results]
            print(f"| {d.name} | {read}/{len(photos)} | {100 * read / len(photos):.1f}% "
                  f"| {statistics.median(ms):.2f} | {p95(ms):.2f} |")
    else:
        print(f"(photo set not found at {args.photos}; skipped)")

    text = credential_text()
    print(f"\nCamera-like frames: rotating credential, {len(text)} characters, QR version "
          f"{qr_code(text).designator}; median of {max(args.repeat, 20)} runs\n")
    print("| decoder | frame | code read | ms with code | ms without code |")
    print("|---|---|---|---:|---:|")
    for size in ((640, 480), (1280, 720)):
        with_code, without = camera_frame(text, size), camera_frame(text, size, with_code=False)
        for d in decoders:
            codes, ms = timed(d, with_code, max(args.repeat, 20))
            _, ms_empty = timed(d, without, max(args.repeat, 20))
            print(f"| {d.name} | {size[0]}x{size[1]} | {'yes' if codes == [text] else 'NO'} | {ms:.2f} | {ms_empty:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
