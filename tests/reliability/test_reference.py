# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The yardstick: an uninterrupted cold run of the full role converges, and its rerun writes nothing."""

import pytest

import harness


@pytest.mark.scenarios("reference")
def test_cold_run_then_rerun_writes_nothing(reference):
    cold, rerun = reference["cold"], reference["rerun"]
    assert cold.recap().get("changed", 0) > 0, cold.describe()
    assert len(reference["writes"]) >= 15, reference["writes"]
    assert rerun.rc == 0, rerun.describe()
    assert rerun.recap().get("changed") == 0, rerun.describe()
    assert harness.signatures(rerun.ak_log, rerun.sf_log) == []
    logins = [entry for entry in rerun.sf_log if entry["path"] == "/services/oauth2/token"]
    assert len(logins) == 1
    assert harness.duplicates(*reference["raw_state"]) == []
    assert harness.state_difference(reference["state"], reference["rerun_state"]) == []
