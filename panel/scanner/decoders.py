"""QR decoders behind one small interface: ``decode(gray) -> list[str]``.

``gray`` is a 2-D ``numpy.uint8`` array. A decoder returns the texts of the QR
symbols it read (possibly none) and never raises on a bad picture.

- :class:`ZxingDecoder`: zxing-cpp, the best single reader measured here.
- :class:`ZbarDecoder`: zbar through pyzbar, for comparison and as an optional
  cascade step.
- :class:`CascadeDecoder`: what the panel uses. zxing-cpp first; only when that
  found nothing, a few variants of the picture, stopping at the first that reads.

How the cascade was chosen (scripts/bench_qr.py, /work/shared/qr/photos, 123
images): zxing-cpp alone reads 116 (with plain text mode; its default "HRI" mode
renders control characters as ``<SOH>`` and so misreads one more), pyzbar 94.
Every variant tried as a fallback (inverted, contrast-stretched ROI, CLAHE, Otsu,
adaptive threshold, sharpening, pyzbar plain, blurred or upscaled) gained at most
two images, and zxing-cpp's global-histogram binarizer on a 2x upscale gained the
same two (a textured designer code and a small code on a curved shirt) on its own,
at ~2 ms on a 640x480 frame without a code. pyzbar adds no read on top of that,
costs 5-20 ms per empty camera frame, and zbar can abort the whole process on
some symbols (an ``assert`` in qrdectxt.c, pyzbar issue #143), so it is not in the
default cascade; ``CascadeDecoder(use_zbar=True)`` adds it as a last step.
zxing-cpp's own ``try_invert``/``try_rotate``/``try_downscale`` already cover
inverted, rotated and very large symbols.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import zxingcpp

# The QR family only: the panel reads credentials, and fewer formats means fewer
# detectors run on every frame and no false 1-D reads in camera noise.
QR_FORMATS = (
    zxingcpp.BarcodeFormat.QRCode,
    zxingcpp.BarcodeFormat.MicroQRCode,
    zxingcpp.BarcodeFormat.RMQRCode,
)


class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[str]: ...


def _usable(gray: np.ndarray) -> np.ndarray | None:
    """A C-contiguous 2-D uint8 view, or None for an empty picture (both libraries
    raise on zero-sized images)."""
    if gray.ndim != 2 or gray.dtype != np.uint8 or gray.size == 0:
        return None
    return np.ascontiguousarray(gray)


def _unique(texts) -> list[str]:
    return list(dict.fromkeys(texts))


class ZxingDecoder:
    """zxing-cpp. ``TextMode.Plain`` returns the payload as encoded (the default
    HRI mode rewrites control characters and GS1 data for display)."""

    name = "zxing-cpp"

    def __init__(self, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage):
        self.binarizer = binarizer

    def decode(self, gray: np.ndarray) -> list[str]:
        gray = _usable(gray)
        if gray is None:
            return []
        found = zxingcpp.read_barcodes(
            gray, formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, binarizer=self.binarizer
        )
        return _unique(b.text for b in found if b.valid)


class ZbarDecoder:
    """zbar via pyzbar.

    Caveats: zbar guesses a character set for byte-mode payloads and returns them
    re-encoded as UTF-8 (binary data does not survive; pyzbar cannot set zbar's
    binary mode), so credentials use QR alphanumeric mode. pyzbar 0.1.9 raises
    ``ValueError`` on some symbols (an orientation or symbol type its enums do not
    know): treated as "nothing read".
    """

    name = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar  # imported here: loading libzbar fails loudly if it is missing

        self._pyzbar = pyzbar

    def decode(self, gray: np.ndarray) -> list[str]:
        gray = _usable(gray)
        if gray is None:
            return []
        try:
            found = self._pyzbar.decode(gray, symbols=[self._pyzbar.ZBarSymbol.QRCODE])
        except (ValueError, self._pyzbar.PyZbarError):
            return []
        return _unique(r.data.decode("utf-8", "replace") for r in found)


class CascadeDecoder:
    """zxing-cpp, then (only when nothing was read) zxing-cpp's global-histogram
    binarizer on a 2x upscale of small pictures (native size for large ones, where
    an upscale would cost tens of ms per empty camera frame), then optionally zbar
    on a lightly blurred copy (blur removes halftone texture zbar trips on)."""

    name = "cascade"

    def __init__(self, *, use_zbar: bool = False, upscale_max_side: int = 800):
        self._zxing = ZxingDecoder()
        self._zxing_gh = ZxingDecoder(zxingcpp.Binarizer.GlobalHistogram)
        self._zbar = ZbarDecoder() if use_zbar else None
        self.upscale_max_side = upscale_max_side
        if use_zbar:
            self.name = "cascade+zbar"

    def decode(self, gray: np.ndarray) -> list[str]:
        gray = _usable(gray)
        if gray is None:
            return []
        texts = self._zxing.decode(gray)
        if texts:
            return texts
        if max(gray.shape) <= self.upscale_max_side:
            bigger = cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            texts = self._zxing_gh.decode(bigger)
        else:
            texts = self._zxing_gh.decode(gray)
        if texts or self._zbar is None:
            return texts
        return self._zbar.decode(cv2.GaussianBlur(gray, (5, 5), 0))


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A camera frame (gray, BGR or BGRA, uint8) as 2-D uint8 gray."""
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    raise ValueError(f"unsupported frame shape {frame.shape}")


DECODERS = {"cascade": CascadeDecoder, "zxing-cpp": ZxingDecoder, "pyzbar": ZbarDecoder}


def default_decoder() -> Decoder:
    return CascadeDecoder()
