"""4. VP8 encoder: aiortc's Vp8Encoder against the panel's, same frames, same bitrate."""

from __future__ import annotations

import statistics
import time

from .common import pct


async def encoder_scenes(n: int = 60) -> dict[str, list]:
    """640x480 BGR frames: camera-like (textured wall, light fall-off, lens blur, fresh
    sensor noise in every frame) panning or still, and the emulator's synthetic camera."""
    import numpy as np

    import _bench_util as bu
    from hal.camera import SyntheticCamera

    rng = np.random.default_rng(11)
    size, step = (640, 480), 4
    panorama = bu.wall(size, rng, margin=step * n)
    still = bu.lit(panorama[:, :size[0]].copy())
    t = [1_700_000_000.0]

    def clock():
        t[0] += 1 / 15
        return t[0]
    synthetic = SyntheticCamera(width=640, height=480, clock=clock)
    return {
        "camera-like, panning (a visitor moving)":
            [bu.finish(bu.lit(panorama[:, i * step:i * step + size[0]].copy()), rng, noise=3) for i in range(n)],
        "camera-like, still (sensor noise only)": [bu.finish(still, rng, noise=3) for _ in range(n)],
        "the emulator's synthetic camera": [await synthetic._read() for _ in range(n)],
    }


def encode_series(encoder, frames: list, passes: int) -> dict:
    """Encode `passes` x `frames` at 15 frames/s; decode every frame as a receiver would."""
    import fractions

    import av
    import cv2
    import numpy as np
    from aiortc.codecs.vpx import vp8_depayload

    decoder = av.CodecContext.create("libvpx", "r")
    times, sent, psnr = [], 0, []
    for k in range(passes):
        for i, bgr in enumerate(frames):
            i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
            frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
            frame.pts, frame.time_base = (k * len(frames) + i) * 6000, fractions.Fraction(1, 90000)
            t0 = time.perf_counter()
            payloads, _ = encoder.encode(frame)
            times.append((time.perf_counter() - t0) * 1000)
            sent += sum(len(p) for p in payloads)
            packet = av.Packet(b"".join(vp8_depayload(p) for p in payloads))
            for out in decoder.decode(packet):
                y = out.to_ndarray(format="yuv420p")[:480]
                mse = float(np.mean((y.astype(np.float32) - i420[:480].astype(np.float32)) ** 2))
                psnr.append(10 * np.log10(255 ** 2 / max(mse, 1e-6)))
    warm = len(frames)                    # the first pass settles rate control: not counted
    return {"ms": times[warm:] if passes > 1 else times, "kbps": sent * 8 / (len(times) / 15) / 1000,
            "psnr": float(np.mean(psnr[warm:] if passes > 1 else psnr))}


async def bench_encoder(passes: int) -> dict:
    from aiortc.codecs.vpx import Vp8Encoder

    from panel.call import encoders

    rows = []
    for scene, frames in (await encoder_scenes()).items():
        for name, make in (("aiortc Vp8Encoder (cpu-used -6, adaptive denoiser)", Vp8Encoder),
                           (f"the panel's (cpu-used {encoders.VP8_SPEED}, no denoiser)",
                            lambda: encoders.PanelVp8Encoder(max_video_kbps=1000))):
            encoder = make()
            encoder.target_bitrate = 1_000_000
            rows.append((scene, name, encode_series(encoder, frames, passes)))
    return {"rows": rows, "passes": passes}


def encoder_tables(r: dict) -> list[str]:
    out = [f"### 4. VP8 encoder, 640x480 at 1000 kbps, one thread ({r['passes'] - 1 or 1} x 60 frames timed per row)",
           "", "| scene | encoder | median ms/frame | p95 ms | CPU at 15 frames/s | kbps out | PSNR Y dB |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for scene, name, s in r["rows"]:
        out.append(f"| {scene} | {name} | {statistics.median(s['ms']):.2f} | {pct(s['ms'], 95):.2f} | "
                   f"{statistics.mean(s['ms']) * 15 / 1000:.3f} | {s['kbps']:.0f} | {s['psnr']:.2f} |")
    return out
