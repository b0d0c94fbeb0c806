"""Camera frames -> decoded QR texts (scanner.py), decoders (decoders.py), image files (files.py)."""

from .decoders import CascadeDecoder, Decoder, ZbarDecoder, ZxingDecoder, default_decoder
from .files import scan_file
from .scanner import Scanner

__all__ = ["CascadeDecoder", "Decoder", "Scanner", "ZbarDecoder", "ZxingDecoder", "default_decoder", "scan_file"]
