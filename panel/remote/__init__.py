"""Driving a panel from outside, as an integrator, a HIL rig, a test or a benchmark does.

- `PanelProcess`: `python -m panel ...` as a subprocess: started, read (API URL and
  token, and for the demo its dev cloud, staff token and resident links), stopped.
- `PanelClient`: the local HTTP API (/api/v1) with the bearer token.
- `measure`: one percentile and one /proc reader for benchmarks and tests.

Nothing in the firmware's own paths imports this package.
"""

from .client import ApiError, PanelClient
from .process import PanelProcess, ProcessError, ResidentLink

__all__ = ["ApiError", "PanelClient", "PanelProcess", "ProcessError", "ResidentLink"]
