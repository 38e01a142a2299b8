# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set-up of the reliability tests (`make reliability`).

The tests drive the whole role against the sandboxes. Role runs dominate the time, so every scenario (a few role
runs with fault rules, see harness.py) is started at the beginning of the session on a pool of sandbox sets
(RELIABILITY_WORKERS, default 3), and each test waits for the outcome of the scenarios it names with
``@pytest.mark.scenarios(...)``. The reference scenario, an uninterrupted cold run and its rerun, is the yardstick
of the others.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

# Started first: the others compare with it, and the interrupted chain is the longest.
FIRST = ("reference", "interrupted-chain")
LAB = pytest.StashKey()


def pytest_configure(config):
    config.addinivalue_line("markers", "scenarios(*names): the lab scenarios whose outcome the test reads")


@harness.scenario("reference")
def reference_scenario(lab, sandbox):
    """An uninterrupted cold run, then a rerun: the final state every other scenario must reach."""
    cold = sandbox.run("reference-cold")
    state = sandbox.state()
    rerun = sandbox.run("reference-rerun")
    return {
        "cold": cold,
        "rerun": rerun,
        "writes": harness.signatures(cold.ak_log, cold.sf_log),
        "state": harness.normalise(*state, sandbox.ak, sandbox.sf),
        "raw_state": state,
        "rerun_state": harness.normalise(*sandbox.state(), sandbox.ak, sandbox.sf),
    }


@pytest.fixture(scope="session")
def lab(request, tmp_path_factory):
    names = []
    for item in request.session.items:
        for marker in item.iter_markers("scenarios"):
            names += [name for name in marker.args if name not in names]
    unknown = [name for name in names if name not in harness.SCENARIOS]
    if unknown:
        pytest.fail("unknown scenarios: %s" % ", ".join(unknown), pytrace=False)
    names.sort(key=lambda name: FIRST.index(name) if name in FIRST else len(FIRST))
    workers = int(os.environ.get("RELIABILITY_WORKERS", "3"))
    # make reliability names the directory (to stop the sandboxes should pytest die); else a temporary one.
    directory = os.environ.get("RELIABILITY_SANDBOX_DIR")
    the_lab = harness.Lab(Path(directory) if directory else tmp_path_factory.mktemp("reliability"), workers)
    request.config.stash[LAB] = the_lab
    try:
        the_lab.start()
        the_lab.submit(names)
        yield the_lab
    finally:
        the_lab.stop()


def pytest_terminal_summary(terminalreporter, config):
    the_lab = config.stash.get(LAB, None)
    if the_lab is not None:
        terminalreporter.write_line(the_lab.report())


@pytest.fixture(scope="session")
def reference(lab):
    outcome = lab.result("reference")
    assert outcome["cold"].rc == 0, outcome["cold"].describe()
    return outcome
