"""The panel's behaviour as pure code: events in, (state, effects) out. No I/O here."""

from . import effects, events
from .machine import PanelState, Rules, Screen, initial_state, step

__all__ = ["effects", "events", "PanelState", "Rules", "Screen", "initial_state", "step"]
