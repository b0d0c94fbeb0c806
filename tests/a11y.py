"""Accessibility checks in the browser tests: axe-core (Deque's engine, from npm, put in
.cache/npm by scripts/lib/setup.sh) injected into a Playwright page.

    violations = await axe_scan(page)            # serious and critical ones
    assert not violations, describe(violations)
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent.parent / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


async def axe_scan(page, impacts=SERIOUS) -> list[dict]:
    """Run axe-core over the page as it is now (WCAG 2.x A and AA rules and axe's best
    practices); the violations of the given impacts, each {id, impact, help, nodes: [target...]}."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: install it with ./scripts/test (or: . scripts/lib/setup.sh; "
                    f"ensure_node_packages \"${{NODE_PACKAGES[@]}}\")", pytrace=False)
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.map(n => n.target.join(" ")) }));
    }""")
    return [v for v in result if v["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}): {', '.join(v['nodes'][:5])}" for v in violations)
