"""Camera bytes and frames: hal.camera.decode_image and the QR scanner's decoders."""

from __future__ import annotations

import io

import cv2
import numpy as np

from .harness import Crash, Harness
from .inputs import mutate_bytes, rand_bytes


def small_images() -> list[bytes]:
    rng = np.random.default_rng(7)
    out = []
    for ext, shape in ((".png", (8, 8, 3)), (".jpg", (16, 16, 3)), (".png", (5, 7)), (".jpg", (9, 3)),
                       (".png", (4, 4, 4)), (".bmp", (3, 3, 3))):
        ok, data = cv2.imencode(ext, rng.integers(0, 256, shape, dtype=np.uint8))
        out.append(data.tobytes())
    return out


class ImageDecode(Harness):
    """decode_image as the panel calls it (with api.max_frame_pixels): a frame, None, or
    ImageTooLarge; the header's size must hold for the frame it gives."""

    def __init__(self):
        from hal.camera import ImageTooLarge, decode_image
        from panel.config import ApiSection
        self.decode_image, self.ImageTooLarge = decode_image, ImageTooLarge
        self.max_pixels = ApiSection().max_frame_pixels
        self.images = small_images()

    def gen(self, rng):
        r = rng.random()
        if r < 0.15:
            return rand_bytes(rng, rng.randint(0, 200))
        if r < 0.3:
            return rng.choice([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"BM", b"GIF89a", b"RIFF"]) + \
                rand_bytes(rng, rng.randint(0, 200))
        return mutate_bytes(rng, rng.choice(self.images))

    def check(self, data):
        try:
            frame = self.decode_image(data, self.max_pixels)
        except self.ImageTooLarge:
            return
        if frame is None:
            return
        if not (frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8):
            raise Crash(f"decode_image gave a {frame.shape} {frame.dtype} frame, not BGR")
        if frame.shape[0] * frame.shape[1] > self.max_pixels:
            raise Crash(f"decode_image gave a {frame.shape[1]}x{frame.shape[0]} frame over the pixel limit")


class ImageScanner(Harness):
    quick = 60

    def __init__(self):
        from panel.scanner.decoders import CascadeDecoder, ZbarDecoder
        from panel.scanner.scanner import Scanner
        self.scanner = Scanner(CascadeDecoder(use_zbar=True), rescan_seconds=0)
        self.zbar = ZbarDecoder()
        from panel.access import qr_code
        buf = io.BytesIO()
        qr_code("EP1:" + "0" * 60).save(buf, kind="png", scale=3, border=2)
        self.qr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)

    def gen(self, rng):
        return {"h": rng.choice([1, 2, 7, 33, rng.randint(1, 240)]), "w": rng.choice([1, 3, 16, rng.randint(1, 320)]),
                "channels": rng.choice([1, 3, 4]), "fill": rng.choice(["noise", "flat", "stripes", "qr", "qr_noise"]),
                "seed": rng.getrandbits(32)}

    def frame(self, x):
        g = np.random.default_rng(x["seed"])
        h, w = max(1, int(x.get("h", 1))), max(1, int(x.get("w", 1)))
        fill = x.get("fill", "flat")
        if fill == "noise":
            gray = g.integers(0, 256, (h, w), dtype=np.uint8)
        elif fill == "stripes":
            gray = np.tile(((np.arange(w) // max(1, w // 8)) % 2 * 255).astype(np.uint8), (h, 1))
        elif fill.startswith("qr"):
            gray = cv2.resize(self.qr, (w, h), interpolation=cv2.INTER_NEAREST)
            if fill == "qr_noise":
                flips = g.random((h, w)) < 0.08
                gray = np.where(flips, 255 - gray, gray).astype(np.uint8)
        else:
            gray = np.full((h, w), int(g.integers(0, 256)), np.uint8)
        channels = x.get("channels", 1)
        if channels == 3:
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        if channels == 4:
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGRA)
        return gray

    def check(self, x):
        frame = self.frame(x)
        for texts in (self.scanner.process(frame), self.zbar.decode(frame if frame.ndim == 2 else frame[:, :, 0])):
            if not all(isinstance(t, str) for t in texts):
                raise Crash(f"decoder returned {texts!r}")
