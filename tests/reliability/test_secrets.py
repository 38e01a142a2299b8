# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets audit: no secret shows in any run's stdout, stderr or JSON callback records.

Every role run of the session runs with -vvv --diff (module arguments and results printed), and the test callback
records every task result as JSON. The secrets are unique markers: the authentik token, the Salesforce client
secret and the JWT private key of each sandbox start are random; the access tokens and consumer secrets that
Salesforce issues during a run are read from the sandbox afterwards; the runs below add an access token given to
the role, a consumer secret given to the role, and wrong secrets that make a run fail. The SCIM provider of the role
authenticates with OAuth (no SCIM token exists to leak). The audit covers every run of the session: the reference
run and its rerun (normal mode), the check-mode run below, and every run that a fault or an interruption made fail.
"""

from __future__ import annotations

import secrets

import pytest
from support import certificates

import harness


def marker(lab, what):
    value = "MARKER-%s-%s" % (what.replace(" ", "-"), secrets.token_hex(12))
    lab.add_marker(value, what)
    return value


ONLY_A_TOKEN = {"salesforce_sso_client_id": None, "salesforce_sso_client_secret": None,
                "salesforce_sso_username": None, "salesforce_sso_private_key": None}


@harness.scenario("secrets-check-mode")
def check_mode(lab, sandbox):
    token = sandbox.client_credentials_token()
    lab.add_marker(token, "access token given to the role")
    overrides = dict(ONLY_A_TOKEN, salesforce_sso_access_token=token,
                     salesforce_sso_consumer_secret=marker(lab, "consumer secret"))
    return {"run": sandbox.run("secrets-check-mode", overrides, check=True)}


@harness.scenario("secrets-failures")
def failures(lab, sandbox):
    """Runs that fail on a wrong secret: authentik token, client secret, a private key the org does not trust."""
    key = certificates.key_pem(certificates.new_key())
    lab.add_marker(key, "untrusted private key")
    return {
        "authentik token": sandbox.run("secrets-wrong-authentik-token", {
            "salesforce_sso_authentik_token": marker(lab, "wrong authentik token")}),
        "client secret": sandbox.run("secrets-wrong-client-secret", dict(
            ONLY_A_TOKEN, salesforce_sso_client_id=sandbox.env["SALESFORCE_CLIENT_ID"],
            salesforce_sso_client_secret=marker(lab, "wrong client secret"))),
        "private key": sandbox.run("secrets-untrusted-key", {"salesforce_sso_private_key": key}),
    }


@pytest.mark.scenarios("secrets-check-mode")
def test_check_mode_with_only_an_access_token_predicts_without_writing(lab):
    run = lab.result("secrets-check-mode")["run"]
    assert run.rc == 0, run.describe()
    assert run.recap().get("changed", 0) > 0  # everything would be created
    assert harness.signatures(run.ak_log, run.sf_log) == []
    assert not [e for e in run.sf_log if e["path"] == "/services/oauth2/token"]  # the given token, no login


@pytest.mark.scenarios("secrets-failures")
@pytest.mark.parametrize("secret, task, words", [
    # The preflight's first authentik read refuses the token, before any write.
    ("authentik token", "Read the signing certificate", "HTTP 403, the token is invalid or lacks permission"),
    ("client secret", "Salesforce login failed", "Salesforce refused the client credentials login"),
    ("private key", "Salesforce login failed", "Salesforce refused the JWT bearer login"),
])
def test_wrong_secret_fails_with_a_message_that_does_not_show_it(lab, secret, task, words):
    run = lab.result("secrets-failures")[secret]
    assert run.rc != 0, run.describe()
    assert task in run.failed_task(), run.describe()
    assert words in run.failure_message(), run.failure_message()
    assert harness.signatures(run.ak_log, run.sf_log) == []
    assert lab.leaks(run) == []


@pytest.mark.scenarios(*sorted(harness.SCENARIOS))
def test_no_secret_in_any_output_of_the_session(lab):
    """Runs last (the file sorts last): every run of every scenario of the session, normal, check mode, failed."""
    lab.wait_all()
    runs = [run for run, _sandbox in lab.runs]
    assert runs, "no run to audit"
    leaks = {run.label: lab.leaks(run) for run in runs if lab.leaks(run)}
    assert leaks == {}
    # The audit read verbose output (-vvv: connection details, module arguments with their secrets masked).
    assert all("ESTABLISH LOCAL CONNECTION" in run.stdout for run in runs)
    assert any("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout for run in runs)
    print("secrets audit: %d runs (%d in check mode, %d failed), %d markers" % (
        len(runs), sum(run.check for run in runs), sum(run.rc != 0 for run in runs), len(lab.markers)))
