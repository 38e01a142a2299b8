# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The full role under injected faults: one cold run per fault kind, the fault on a write in the middle of the run.

Where a kind exists on both sides, one rule is armed on each (they never interfere: each side has its own client).
Whether a fault must be absorbed or must stop the run follows the clients' documented retry policy:

- authentik (_authentik.py): 429, 502, 503, 504 and connection errors are retried (bounded, Retry-After honoured).
  A POST is repeated as it is only after 429/503 (the server did not process it); after 502/504, a dropped
  connection or a timeout its outcome is unknown, so the module looks the object up before sending it again.
  A 500 is a server error that another try would not fix: never retried, the run stops with the message.
- Salesforce (_salesforce_session.py): 429, 503 and REQUEST_LIMIT_EXCEEDED "ConcurrentRequests" are retried for every
  call (nothing was processed); 500 UNKNOWN_EXCEPTION, 502, 504, timeouts and dropped connections are retried for
  idempotent calls (reads, update, upsert), and a create whose outcome is unknown is looked up before it is sent
  again; INVALID_SESSION_ID logs in again once and repeats the call; the daily limit ("TotalRequests") is never
  retried.

Every scenario ends with the same final state as an uninterrupted run (no duplicate on either side), and a plain
rerun writes nothing - after a failed run, the rerun completes the work.
"""

from __future__ import annotations

import pytest

import harness

AK = "/api/v3"


def fault_run(sandbox, label, authentik=(), salesforce=(), env=None, after_run=None, rerun=False):
    """Arm the rules and run the role; after a failed run, a plain rerun. Returns what the tests look at.

    A run that succeeded is not run again: the tests prove that it left exactly the state of the uninterrupted
    reference run (names, fields, references, counts), from which the reference's own rerun wrote nothing - the
    role reads nothing else, so a rerun here would repeat that rerun request for request.
    """
    sandbox.arm(authentik, salesforce)
    run = sandbox.run(label, env=env)
    left = sandbox.faults()
    sandbox.disarm()
    if after_run:
        after_run(sandbox)
    state_after_run = sandbox.state()
    rerun = sandbox.run(label + "-rerun") if run.rc or rerun else None
    state = sandbox.state() if rerun else state_after_run
    return {"run": run, "left": left, "duplicates_after_run": harness.duplicates(*state_after_run),
            "rerun": rerun, "raw_state": state, "state": harness.normalise(*state, sandbox.ak, sandbox.sf)}


@harness.scenario("fault-429")
def fault_429(lab, sandbox):
    return fault_run(
        sandbox, "fault-429",
        authentik=[{"method": "POST", "path": "^%s/providers/saml/$" % AK, "status": 429, "retry_after": 1}],
        salesforce=[{"api": "soap", "operation": "createMetadata", "status": 429, "retry_after": 1}])


@harness.scenario("fault-500")
def fault_500(lab, sandbox):
    return fault_run(
        sandbox, "fault-500",
        authentik=[{"method": "POST", "path": "^%s/core/applications/$" % AK, "status": 500}],
        salesforce=[{"api": "soap", "operation": "updateMetadata", "status": 500}])


@harness.scenario("fault-502")
def fault_502(lab, sandbox):
    return fault_run(
        sandbox, "fault-502",
        authentik=[{"method": "POST", "path": "^%s/sources/oauth/$" % AK, "status": 502}],
        salesforce=[{"api": "soap", "operation": "upsertMetadata", "status": 502}])


@harness.scenario("fault-503")
def fault_503(lab, sandbox):
    return fault_run(
        sandbox, "fault-503",
        authentik=[{"method": "POST", "path": "^%s/providers/scim/$" % AK, "status": 503}],
        salesforce=[{"api": "soap", "operation": "createMetadata", "status": 503}])


@harness.scenario("fault-drop")
def fault_drop(lab, sandbox):
    return fault_run(
        sandbox, "fault-drop",
        authentik=[{"method": "POST", "path": "^%s/policies/bindings/$" % AK, "drop": True}],
        salesforce=[{"api": "soap", "operation": "createMetadata", "drop": True}])


# The client's timeout is far above what any other request of the run takes on a busy machine (none of them may
# time out), and the delay far above the timeout plus the client's lookup and resend (the slow write must be
# applied after them). The logs and states are read once the slow requests have been answered (harness.settle).
SLOW_TIMEOUT = 10
SLOW_DELAY = 45


@harness.scenario("fault-slow")
def fault_slow(lab, sandbox):
    # The sandboxes answer a delayed request after the delay, as a real server would: the client has given up,
    # but the write is applied all the same. On authentik, a binding (the one object it lets exist twice).
    return fault_run(
        sandbox, "fault-slow",
        authentik=[{"method": "POST", "path": "^%s/policies/bindings/$" % AK, "delay": SLOW_DELAY}],
        salesforce=[{"api": "soap", "operation": "upsertMetadata", "delay": SLOW_DELAY}],
        env={"AUTHENTIK_TIMEOUT": str(SLOW_TIMEOUT), "SALESFORCE_TIMEOUT": str(SLOW_TIMEOUT)}, rerun=True)


@harness.scenario("fault-concurrent-limit")
def fault_concurrent_limit(lab, sandbox):
    # The second createMetadata of the run: the External Client App (the first rule lets the SSO config through).
    return fault_run(
        sandbox, "fault-concurrent-limit",
        salesforce=[{"api": "soap", "operation": "createMetadata", "delay": 0.001},
                    {"api": "soap", "operation": "createMetadata", "kind": "concurrent_limit"}])


@harness.scenario("fault-invalid-session")
def fault_invalid_session(lab, sandbox):
    # Expires the run's session in the middle of the External Client App's creation.
    return fault_run(
        sandbox, "fault-invalid-session",
        salesforce=[{"api": "soap", "operation": "upsertMetadata", "kind": "INVALID_SESSION_ID"}])


DAILY_LIMIT = 12


@harness.scenario("fault-daily-limit")
def fault_daily_limit(lab, sandbox):
    # The org's daily limit really runs out in the middle of the run (the External Client App); the rerun comes
    # after it was raised again, as it would be a day later.
    sandbox.config(daily_api_limit=DAILY_LIMIT)
    return fault_run(sandbox, "fault-daily-limit", after_run=lambda sb: sb.config(daily_api_limit=15000))


# --- assertions ----------------------------------------------------------------------------------------------


def converged(outcome, reference, late_duplicates=False):
    """Both sides hold exactly what an uninterrupted run makes, with no duplicate; a rerun after a failed run
    completed the work."""
    rerun = outcome["rerun"]
    if rerun is not None:
        assert rerun.rc == 0, rerun.describe()
        if outcome["run"].rc:
            assert rerun.recap().get("changed", 0) > 0, "the rerun after the failed run had nothing left to do"
    if not late_duplicates:
        assert outcome["duplicates_after_run"] == []
    assert harness.duplicates(*outcome["raw_state"]) == []
    assert harness.state_difference(reference["state"], outcome["state"]) == []


def clean_output(run):
    assert not harness.TRACEBACK.search(run.output), "traceback or module failure in %s" % run.label


def fired(log, kind, **match):
    """The requests a rule of this kind answered (all of them must match `match`)."""
    hits = [entry for entry in log if entry.get("fault") == kind]
    for entry in hits:
        for key, value in match.items():
            assert entry.get(key) == value, (key, entry)
    return hits


def attempts(log, hit, side):
    """Requests of the same signature as `hit`, from `hit` on (the retries or the repeat after a lookup)."""
    signature = harness.write_signature(side, hit)
    return [entry for entry in log if entry["seq"] >= hit["seq"] and entry["write"]
            and harness.write_signature(side, entry) == signature]


def absorbed(outcome, reference, late_duplicates=False):
    run = outcome["run"]
    assert run.rc == 0, run.describe()
    assert outcome["left"] == ([], []), "a fault rule never fired: %s" % (outcome["left"],)
    clean_output(run)
    converged(outcome, reference, late_duplicates)
    return run


@pytest.mark.scenarios("reference", "fault-429")
def test_429_with_retry_after_is_absorbed(lab, reference):
    outcome = lab.result("fault-429")
    run = absorbed(outcome, reference)
    ak_hit, = fired(run.ak_log, "429", method="POST")
    sf_hit, = fired(run.sf_log, "status_429", operation="createMetadata")
    # Both sides sent the very same request once more, after the server's Retry-After (1 s).
    ak_tries = attempts(run.ak_log, ak_hit, "authentik")
    sf_tries = attempts(run.sf_log, sf_hit, "salesforce")
    assert [e["status"] for e in ak_tries] == [429, 201]
    assert [e["status"] for e in sf_tries] == [429, 200]
    assert sf_tries[1]["time"] - sf_tries[0]["time"] >= 1.0


@pytest.mark.scenarios("reference", "fault-500")
def test_500_stops_on_authentik_and_is_retried_for_an_idempotent_salesforce_update(lab, reference):
    outcome = lab.result("fault-500")
    run = outcome["run"]
    # authentik: a 500 is not retried (not a transient status); the run stops at the application, in one sentence.
    assert run.rc != 0, run.describe()
    assert run.failed_task().endswith("Application"), run.describe()
    assert run.failure_message().startswith("POST /api/v3/core/applications/: HTTP 500"), run.failure_message()
    assert "<html" not in run.failure_message().lower()
    ak_hit, = fired(run.ak_log, "500", method="POST")
    assert [e["status"] for e in attempts(run.ak_log, ak_hit, "authentik")] == [500]
    # Salesforce: UNKNOWN_EXCEPTION on updateMetadata (idempotent) was retried before that, once.
    sf_hit, = fired(run.sf_log, "status_500", operation="updateMetadata")
    assert [e["status"] for e in attempts(run.sf_log, sf_hit, "salesforce")] == [500, 200]
    clean_output(run)
    converged(outcome, reference)


@pytest.mark.scenarios("reference", "fault-502")
def test_502_is_absorbed_without_duplicating_a_post(lab, reference):
    outcome = lab.result("fault-502")
    run = absorbed(outcome, reference)
    ak_hit, = fired(run.ak_log, "502", method="POST")
    # The POST's outcome is unknown after a 502: the module looked the source up, then sent it once more.
    after = [e for e in run.ak_log if e["seq"] > ak_hit["seq"]]
    assert after[0]["method"] == "GET" and after[0]["path"].startswith(AK + "/sources/oauth/"), after[:2]
    assert [e["status"] for e in attempts(run.ak_log, ak_hit, "authentik")] == [502, 201]
    sf_hit, = fired(run.sf_log, "status_502", operation="upsertMetadata")
    assert [e["status"] for e in attempts(run.sf_log, sf_hit, "salesforce")] == [502, 200]


@pytest.mark.scenarios("reference", "fault-503")
def test_503_is_absorbed(lab, reference):
    outcome = lab.result("fault-503")
    run = absorbed(outcome, reference)
    ak_hit, = fired(run.ak_log, "503", method="POST")
    assert [e["status"] for e in attempts(run.ak_log, ak_hit, "authentik")] == [503, 201]
    sf_hit, = fired(run.sf_log, "status_503", operation="createMetadata")
    assert [e["status"] for e in attempts(run.sf_log, sf_hit, "salesforce")] == [503, 200]


@pytest.mark.scenarios("reference", "fault-drop")
def test_dropped_connection_is_absorbed_without_duplicating_a_create(lab, reference):
    outcome = lab.result("fault-drop")
    run = absorbed(outcome, reference)
    ak_hit, = fired(run.ak_log, "drop", method="POST")
    assert [e["status"] for e in attempts(run.ak_log, ak_hit, "authentik")][1:] == [201]
    sf_hit, = fired(run.sf_log, "drop", operation="createMetadata")
    # A create whose answer was lost is looked up (readMetadata) before it is sent again.
    after = [e for e in run.sf_log if e["seq"] > sf_hit["seq"]]
    assert after[0]["operation"] == "readMetadata" and after[0]["types"] == sf_hit["types"], after[:1]
    assert [e["status"] for e in attempts(run.sf_log, sf_hit, "salesforce")][1:] == [200]


@pytest.mark.scenarios("reference", "fault-slow")
def test_answer_slower_than_the_timeout_is_absorbed(lab, reference):
    outcome = lab.result("fault-slow")
    run = absorbed(outcome, reference, late_duplicates=True)
    ak_hit, = [e for e in run.ak_log if e.get("fault") == "delay" and e["method"] == "POST"]
    sf_hit, = [e for e in run.sf_log if e.get("fault") == "delay"]
    # authentik: the POST timed out, so its outcome was unknown: the module looked, found no binding yet and sent
    # it again. The server applied the slow POST as well, later: authentik keeps both, identical.
    after = [e for e in run.ak_log if e["seq"] > ak_hit["seq"]]
    assert after[0]["method"] == "GET" and after[0]["path"] == AK + "/policies/bindings/", after[:1]
    assert [e["status"] for e in attempts(run.ak_log, ak_hit, "authentik")] == [201, 201]
    # The plain rerun removed the late copy, and only that.
    late = outcome["duplicates_after_run"]
    assert len(late) <= 1 and all("policy_bindings" in d for d in late), late
    rerun_writes = harness.signatures(outcome["rerun"].ak_log, outcome["rerun"].sf_log)
    assert rerun_writes == [("authentik", "DELETE", AK + "/policies/bindings/{id}/")] * len(late), rerun_writes
    # Salesforce: the upsert (idempotent) timed out and was sent again before the slow answer came.
    sf_tries = attempts(run.sf_log, sf_hit, "salesforce")
    assert 2 <= len(sf_tries) <= harness.RETRIES + 1
    assert sf_tries[1]["time"] - sf_tries[0]["time"] < SLOW_DELAY


@pytest.mark.scenarios("reference", "fault-concurrent-limit")
def test_concurrent_request_limit_is_absorbed(lab, reference):
    outcome = lab.result("fault-concurrent-limit")
    run = absorbed(outcome, reference)
    sf_hit, = fired(run.sf_log, "concurrent_limit", operation="createMetadata")
    assert sf_hit["types"] == ["ExternalClientApplication"]
    assert [e["status"] for e in attempts(run.sf_log, sf_hit, "salesforce")] == [500, 200]


@pytest.mark.scenarios("reference", "fault-invalid-session")
def test_session_expiring_in_the_middle_of_a_run_logs_in_again(lab, reference):
    outcome = lab.result("fault-invalid-session")
    run = absorbed(outcome, reference)
    sf_hit, = fired(run.sf_log, "INVALID_SESSION_ID", operation="upsertMetadata")
    after = [e for e in run.sf_log if e["seq"] > sf_hit["seq"]]
    # A new login, then the very same call again.
    assert after[0]["path"] == "/services/oauth2/token" and after[0]["status"] == 200, after[:1]
    assert harness.write_signature("salesforce", after[1]) == harness.write_signature("salesforce", sf_hit)
    assert after[1]["status"] == 200
    # Bounded: the run's first login, and at most one more per Salesforce task that came after the expiry.
    logins = [e for e in run.sf_log if e["path"] == "/services/oauth2/token"]
    assert 2 <= len(logins) <= 5, len(logins)


@pytest.mark.scenarios("reference", "fault-daily-limit")
def test_daily_limit_stops_the_run_with_a_clear_message(lab, reference):
    outcome = lab.result("fault-daily-limit")
    run = outcome["run"]
    assert run.rc != 0, run.describe()
    message = run.failure_message()
    assert "daily API request limit is used up" in message and "Not retrying" in message, message
    refused = [e for e in run.sf_log if e["status"] >= 400]
    assert len(refused) == 1, refused  # never retried
    clean_output(run)
    converged(outcome, reference)
