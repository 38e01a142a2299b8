# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs of the full role at once, from a cold start, against the same sandboxes.

Both look every object up, find nothing and create it, so most creates race. What the other side does to the
loser:
- authentik answers 400 "... already exists" for objects with a unique name or slug (mappings, providers,
  applications, sources); the engine then looks the object up again and continues with it (an update if needed).
- authentik accepts the same group bound twice to one application: application_binding looks again after its
  create and keeps the binding with the lowest id, removing the other (both runs agree on which one).
- Salesforce's createMetadata answers DUPLICATE_VALUE for a name that exists; the engine, and the External Client
  App's own create, look the component up again and continue. Updates and upserts of the same values are harmless.
Both runs must succeed and leave exactly one of each object: the reference run's final state.

A create is a lookup then a POST a few milliseconds later, so two runs rarely fall into that window by chance. The
sandboxes take their time over some creates here (CREATE_DELAY before the server processes them, as a loaded
server would): both runs look, find nothing, and send their create while the first one is still being processed.
Started together, the runs can drift apart by more than that on a busy machine (one starts a minute later): they
are held in step at the tasks that make those creates (harness.lockstep), so that they race whatever the load.
"""

from __future__ import annotations

import pytest

import harness


CREATE_DELAY = 2
# The tasks at which the two runs wait for each other (harness.lockstep): each makes one of the slow creates.
MEETING_POINTS = ["SAML single sign-on configuration, Just-in-Time provisioning",
                  "SAML provider, made with the ACS URL that Salesforce reports",
                  "Salesforce as an OAuth source of authentik",
                  "Who may use it"]
SLOW_CREATES = {"authentik": ["/api/v3/providers/saml/", "/api/v3/policies/bindings/", "/api/v3/sources/oauth/"],
                "salesforce": ["createMetadata"]}


@harness.scenario("concurrent")
def concurrent(lab, sandbox):
    sandbox.arm(
        [{"method": "POST", "path": "^%s$" % path, "delay": CREATE_DELAY, "times": 1000}
         for path in SLOW_CREATES["authentik"]],
        [{"api": "soap", "operation": op, "delay": CREATE_DELAY, "times": 0} for op in SLOW_CREATES["salesforce"]])
    sandbox.clear_logs()
    first, second = sandbox.start_run("concurrent-a"), sandbox.start_run("concurrent-b")
    harness.lockstep([first, second], MEETING_POINTS)
    runs = [first.wait(), second.wait()]
    sandbox.disarm()
    ak_log, sf_log = sandbox.logs()
    secrets = sandbox.issued_secrets(sf_log)
    for run in runs:
        run.secrets = secrets
    state = sandbox.state()
    return {"runs": runs, "ak_log": ak_log, "sf_log": sf_log, "raw_state": state,
            "state": harness.normalise(*state, sandbox.ak, sandbox.sf)}


def lost_races(ak_log, sf_log):
    """Creates that found the object made meanwhile by the other run, and binding copies removed."""
    authentik = [e for e in ak_log if e["method"] == "POST" and e["status"] == 400]
    copies = [e for e in ak_log if e["method"] == "DELETE" and e["path"].startswith("/api/v3/policies/bindings/")]
    creates = [harness.write_signature("salesforce", e) for e in sf_log if e.get("operation") == "createMetadata"]
    salesforce = len(creates) - len(set(creates))
    return authentik, copies, salesforce


@pytest.mark.scenarios("reference", "concurrent")
def test_two_runs_at_once_make_each_object_once(lab, reference):
    outcome = lab.result("concurrent")
    for run in outcome["runs"]:
        assert run.rc == 0, run.describe()
        assert not harness.TRACEBACK.search(run.output)
    assert harness.duplicates(*outcome["raw_state"]) == []
    assert harness.state_difference(reference["state"], outcome["state"]) == []
    authentik, copies, salesforce = lost_races(outcome["ak_log"], outcome["sf_log"])
    # The runs did race (else this test proved nothing): some creates lost, and the runs went on.
    assert authentik or copies or salesforce, "no create lost a race"
    print("lost races: authentik %s; binding copies removed %d; Salesforce %d createMetadata" % (
        [e["path"] for e in authentik], len(copies), salesforce))
