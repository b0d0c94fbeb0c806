"""The HIL suite's command line, its rig (one per session) and each flow's record.

    pytest tests/hil                                     # the emulator, started here
    pytest tests/hil --panel URL --token T [--fingerprint FP] [--cloud URL --staff-token S]
                     [--rig rig.toml] [--repeat N] [--hil-results DIR]

Results go to DIR (default hil-results/): junit.xml, timings.md (each flow's median
and p95 over --repeat rounds) and report.md (the panel's screen at each step).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import pytest_asyncio

from panel.remote.measure import percentile
from panel.remote.rig import Rig

from tests.hil.flows import to_home
from tests.hil.report import Flow, Results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def pytest_addoption(parser):
    g = parser.getgroup("hil", "HIL acceptance suite (tests/hil)")
    g.addoption("--panel", metavar="URL", help="the panel's local API URL as it prints it; none: start the emulator")
    g.addoption("--token", metavar="T", help="the panel's API token")
    g.addoption("--fingerprint", metavar="FP", help="the TLS certificate SHA-256 an https panel prints")
    g.addoption("--cloud", metavar="URL", help="the dev cloud's URL (the demo prints it)")
    g.addoption("--staff-token", metavar="S", help="the dev cloud's staff token (PANEL_STAFF_TOKEN)")
    g.addoption("--rig", metavar="FILE", help="rig.toml: the rig's hardware and the panel's timings")
    g.addoption("--netns", action="store_true",
                help="the emulator's panel in a network namespace of its own, over a veth pair (root)")
    g.addoption("--repeat", type=int, default=1, metavar="N", help="run each flow N times (timings: median, p95)")
    g.addoption("--hil-results", metavar="DIR", default=str(ROOT / "hil-results"), help="where results go")


def option(config, name: str, default=None):
    # The options exist only when pytest loaded this conftest at start-up (pytest tests/hil ...).
    try:
        value = config.getoption(name)
    except ValueError:
        return default
    return default if value is None else value


def results_dir(config) -> Path:
    return Path(option(config, "hil_results", str(ROOT / "hil-results")))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # JUnit XML into the results folder, unless --junitxml says elsewhere (only when pytest
    # was started on tests/hil: a late conftest comes after the junitxml plugin set up).
    if option(config, "panel") is not None or _hil_only(config):
        if getattr(config.option, "xmlpath", None) is None:
            config.option.xmlpath = str(results_dir(config) / "junit.xml")
    config.stash[RESULTS] = Results(results_dir(config))


def _hil_only(config) -> bool:
    return bool(config.args) and all(Path(a.split("::")[0]).resolve().is_relative_to(HERE) for a in config.args)


RESULTS = pytest.StashKey[Results]()


def pytest_collection_modifyitems(config, items):
    from pytest_asyncio import is_async_test
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE) and is_async_test(item):
            item.add_marker(session_loop, append=False)


def pytest_generate_tests(metafunc):
    n = option(metafunc.config, "repeat", 1)
    if "hil_round" in metafunc.fixturenames and n > 1:
        metafunc.parametrize("hil_round", range(n), ids=[f"round{i + 1}" for i in range(n)])


@pytest.fixture
def hil_round():
    return 0


def pytest_sessionfinish(session):
    results = session.config.stash.get(RESULTS, None)
    if results is not None and results.flows:
        results.write(percentile)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rig(request, tmp_path_factory):
    config = request.config
    url = option(config, "panel")
    if url is None:
        from tests.hil.rigs import emulator_rig
        netns = bool(option(config, "netns", False))
        if netns:
            from tests.hil.rigs import Netns
            if Netns.available():
                raise pytest.UsageError(f"--netns: {Netns.available()}")
        made = await emulator_rig(tmp_path_factory.mktemp("emulator-rig"), netns=netns)
    else:
        from tests.hil.rigs import remote_rig
        if not option(config, "token"):
            raise pytest.UsageError("--panel needs --token (the token the panel prints)")
        made = await remote_rig(url, option(config, "token"), fingerprint=option(config, "fingerprint"),
                                cloud=option(config, "cloud"), staff_token=option(config, "staff_token"),
                                rig_toml=option(config, "rig"))
    try:
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture(loop_scope="session")
async def flow(request, rig: Rig, hil_round):
    """This flow's record: `await flow.step("ringing")` keeps the panel's screen for the
    report. The flow starts with the panel idle; its time runs until it ends."""
    await to_home(rig, timeout=rig.timing.pulse_seconds + 30)
    results = request.config.stash[RESULTS]
    record = Flow(request.node.originalname.removeprefix("test_"), rig, folder=results.folder,
                  id=request.node.name.removeprefix("test_"))
    record.started = time.monotonic()
    try:
        yield record
    finally:
        record.ended = time.monotonic()
    report = getattr(request.node, "rep_call", None)
    record.outcome = report.outcome if report is not None else "error"
    results.add(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report

