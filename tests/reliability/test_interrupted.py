# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interrupted runs: every write of the role, in turn, fails permanently; the next run picks up from there.

A chain of runs from a cold start. Run 1 fails at the first write of the role. Run k+1 starts where run k stopped:
its first write must be the very write that failed in run k (nothing before it is sent again, nothing is skipped),
and its next write fails in turn - so run k+1 is both the rerun after interruption k and interruption k+1. The
last run meets no write left to fail and completes. Along the chain:

- every interrupted run fails at the faulted write with the client's one-sentence message (authentik: a 500,
  never retried; Salesforce: the daily API limit, never retried), no traceback;
- no object exists twice on either side at any point;
- the failed writes, in order, are exactly the writes of the uninterrupted reference run, on each side;
- the completed run leaves the reference run's final state (normalised: names, fields, references).

Why a chain rather than, for each step, an interrupted cold run plus a clean rerun: the state a run leaves when
its k-th write fails is the same either way (writes 1..k-1 applied, nothing else), and the role carries nothing
from one run to the next but that state. The chain reaches each of those states and proves, for each, that the
next run resumes at exactly the failed write; the completed last run proves convergence to the reference state.
It costs a third of the role runs (each run goes only as far as its fault), which keeps the suite within minutes.
"""

from __future__ import annotations

import pytest

import harness

AK_FAIL = {"status": 500}
SF_FAIL = {"kind": "daily_limit"}
SF_WRITE_OPERATIONS = ("createMetadata", "updateMetadata", "upsertMetadata", "deleteMetadata", "renameMetadata")
MAX_STEPS = 40  # far more writes than the role makes: a runaway chain stops here


def fail_next_write(redo=None):
    """Rules: let `redo` (the write that failed last time) through once, then fail every write that comes after
    it - so that nothing after the interruption is applied, not even the other items of a loop task (Ansible runs
    them all before it stops)."""
    rules = {"authentik": [], "salesforce": []}
    if redo is not None:
        side, rule = harness.pass_through(redo, 1)
        rules[side].append(rule)
    rules["authentik"] += [dict(AK_FAIL, method=method, path="^/api/", times=1000) for method in harness.WRITE_METHODS]
    rules["salesforce"] += [dict(SF_FAIL, api="soap", operation=op, times=0) for op in SF_WRITE_OPERATIONS]
    return rules


@harness.scenario("interrupted-chain")
def interrupted_chain(lab, sandbox):
    steps, redo = [], None
    for number in range(1, MAX_STEPS + 1):
        sandbox.disarm()
        rules = fail_next_write(redo)
        sandbox.arm(rules["authentik"], rules["salesforce"])
        run = sandbox.run("interrupted-%02d" % number)
        sandbox.disarm()
        hits = [("authentik", e) for e in harness.faulted(run.ak_log)]
        hits += [("salesforce", e) for e in harness.faulted(run.sf_log)]
        step = {"run": run, "redo": redo, "hits": [harness.write_signature(side, e) for side, e in hits],
                "writes": harness.signatures(run.ak_log, run.sf_log, include_faulted=False),
                "duplicates": harness.duplicates(*sandbox.state())}
        steps.append(step)
        if run.rc == 0 or not hits:
            break  # completed (no write left to fail), or something else went wrong: the test says what
        redo = step["hits"][0]  # the interrupted write; the others (later items of its loop) were refused too
    state = sandbox.state()
    return {"steps": steps, "raw_state": state, "state": harness.normalise(*state, sandbox.ak, sandbox.sf)}


@pytest.mark.scenarios("reference", "interrupted-chain")
def test_every_write_interrupted_in_turn_then_resumed(lab, reference):
    outcome = lab.result("interrupted-chain")
    steps = outcome["steps"]
    *interrupted, last = steps
    for number, step in enumerate(interrupted, 1):
        run = step["run"]
        assert run.rc != 0 and step["hits"], "step %d: %s (faulted: %s)" % (number, run.describe(), step["hits"])
        # The run resumed exactly at the write that failed before it, and sent nothing else.
        assert step["writes"] == ([step["redo"]] if step["redo"] else []), "step %d wrote %s, expected only %s" % (
            number, step["writes"], step["redo"])
        side = step["hits"][0][0]
        message = run.failure_message()
        expected = "HTTP 500" if side == "authentik" else "daily API request limit is used up"
        assert expected in message, "step %d: %r" % (number, message)
        assert not harness.TRACEBACK.search(run.output), "step %d: traceback or module failure" % number
        assert step["duplicates"] == [], "step %d: %s" % (number, step["duplicates"])
    # The last run completed: it only redid the last failed write.
    assert last["run"].rc == 0, last["run"].describe()
    assert last["hits"] == [] and last["writes"] == [interrupted[-1]["hits"][0]], last["writes"]
    # Every write of the uninterrupted run was interrupted once, in the same order on each side.
    failed = [step["hits"][0] for step in interrupted]
    for side in ("authentik", "salesforce"):
        assert [s for s in failed if s[0] == side] == [s for s in reference["writes"] if s[0] == side]
    assert harness.duplicates(*outcome["raw_state"]) == []
    assert harness.state_difference(reference["state"], outcome["state"]) == []
