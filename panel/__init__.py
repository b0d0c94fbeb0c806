"""Entry panel firmware."""
__version__ = "0.1.0"
