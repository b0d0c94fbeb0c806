"""Camera frames -> decoded QR texts (scanner.py), where a code can be (likeness.py), the
camera's decoder (burst.py), single-picture decoders (decoders.py), image files (files.py)."""

from .burst import BurstDecoder
from .decoders import CascadeDecoder, Decoder, ZbarDecoder, ZxingDecoder, default_decoder
from .files import scan_file
from .scanner import Scanner

__all__ = ["BurstDecoder", "CascadeDecoder", "Decoder", "Scanner", "ZbarDecoder", "ZxingDecoder", "default_decoder",
           "scan_file"]
