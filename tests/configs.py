"""Config text for tests that run `panel run --config FILE`: the demo's simulated parts.

Outside the demo a config must name its door backend, GPIO pin factory, camera and
audio (panel.config.REQUIRED); tests that write a file name the simulated ones."""

from __future__ import annotations

import tomllib

from panel.config import DEMO_CONFIG, REQUIRED

_DEMO = tomllib.loads(DEMO_CONFIG.read_text())
# The demo's choice for every required key, e.g. {"door": {"backend": "gpio"}, ...}
SIMULATED = {}
for _where in REQUIRED:
    _section, _key = _where.split(".")
    SIMULATED.setdefault(_section, {})[_key] = _DEMO[_section][_key]


def with_simulated_parts(text: str) -> str:
    """`text` (TOML with plain [section] headers, possibly broken elsewhere) with the
    demo's value added for every required key it does not name."""
    lines = text.splitlines()
    for section, keys in SIMULATED.items():
        header = f"[{section}]"
        if header not in (line.strip() for line in lines):
            lines += ["", header] + [f'{key} = "{value}"' for key, value in keys.items()]
            continue
        start = [line.strip() for line in lines].index(header)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        named = {lines[i].split("=")[0].strip() for i in range(start + 1, end) if "=" in lines[i]}
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = [f'{key} = "{value}"' for key, value in keys.items() if key not in named]
    return "\n".join(lines) + "\n"
