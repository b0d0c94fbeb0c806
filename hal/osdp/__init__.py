"""OSDP (IEC 60839-11-5) over RS-485, through libosdp: the panel is the control panel.

- `reader`: `OsdpReader`, one reader (or door controller) on the bus: LED, buzzer,
  card reads, tamper, and one output as the door relay (a `RelayBackend`).
- `channel`: `SerialChannel`, a serial port as a libosdp channel.
- `refresh`: `RefreshThread`, the thread that drives libosdp's state machine
  (also used by the simulated reader in panel/sim).
"""

from .channel import SerialChannel
from .reader import LED_COLORS, MAX_PULSE, OsdpReader, parse_scbk
from .refresh import RefreshThread

__all__ = ["OsdpReader", "SerialChannel", "RefreshThread", "LED_COLORS", "MAX_PULSE", "parse_scbk"]
