"""The shared test helpers (tests/support): the check-mode guard helper fails on a write and only then, the playbook
runner reads recaps and failures, the environment is clean, the certificates chain, the fakes answer in order."""

import datetime
import ssl

import pytest
import requests
from cryptography import x509
from support import certificates, fakes, playbooks, sandboxes

TIMEOUT = 30
CONFIG = {"client_id": "3MVG9support", "client_secret": "support-secret", "username": "admin@example.com"}


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory):
    server = sandboxes.start_or_fail(sandboxes.salesforce_server(tmp_path_factory.mktemp("support"), CONFIG))
    try:
        yield server
    finally:
        server.stop()


def login(server):
    response = requests.post(server.url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": CONFIG["client_id"], "client_secret": CONFIG["client_secret"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def scim_create(server, access_token, name):
    return requests.post(server.url + "/services/scim/v2/Users", json={"userName": name}, timeout=TIMEOUT,
                         headers={"Authorization": "Bearer " + access_token})


def test_the_guard_helper_fails_on_a_write_and_disarms(salesforce):
    control = salesforce.control
    control.reset()
    with pytest.raises(sandboxes.GuardViolation, match="salesforce: POST /services/scim/v2/Users"):
        with sandboxes.check_mode_guard(control):
            access_token = login(salesforce)  # a login is no write
            assert scim_create(salesforce, access_token, "one@example.com").status_code == 403
    assert control.guard_state() == {"writes": "allow", "violations": []}
    # Disarmed: the same write is served (and refused for what it lacks, no longer by the guard).
    answer = scim_create(salesforce, login(salesforce), "two@example.com")
    assert answer.status_code == 409 and "Required fields are missing" in answer.json()["detail"]


def test_the_guard_helper_lets_reads_through(salesforce):
    control = salesforce.control
    control.reset()
    with sandboxes.check_mode_guard(control):
        access_token = login(salesforce)
        limits = requests.get(salesforce.url + "/services/data/v63.0/limits", timeout=TIMEOUT,
                              headers={"Authorization": "Bearer " + access_token})
        assert limits.status_code == 200
    assert [entry["operation"] for entry in control.requests()] == ["token", "limits"]


def test_an_error_in_the_block_wins_over_the_violation(salesforce):
    control = salesforce.control
    control.reset()
    with pytest.raises(KeyError):
        with sandboxes.check_mode_guard(control):
            scim_create(salesforce, login(salesforce), "three@example.com")
            raise KeyError("the block's own error")
    assert control.guard_state()["writes"] == "allow"


def test_control_errors_name_the_call(salesforce):
    with pytest.raises(sandboxes.ControlError, match=r"salesforce POST /_sandbox/guard: HTTP 400"):
        salesforce.control.call("POST", "guard", {"writes": "sometimes"})


def test_parse_recap_and_failures():
    output = ('TASK [x] ***\nfatal: [localhost]: FAILED! => {"changed": false, "msg": "the reason"}\n'
              'failed: [localhost] (item=a) => {"ansible_loop_var": "item", "msg": "item a failed"}\n'
              "PLAY RECAP ***\nlocalhost                  : ok=3    changed=1    unreachable=0    failed=1    "
              "skipped=0    rescued=0    ignored=0\n")
    assert playbooks.parse_recap(output) == {"localhost": {"ok": 3, "changed": 1, "unreachable": 0, "failed": 1,
                                                           "skipped": 0, "rescued": 0, "ignored": 0}}
    assert playbooks.failure_messages(output) == ["the reason", "item a failed"]
    result = playbooks.Result(2, output, "", 1.0)
    assert not result.ok and result.recap()["failed"] == 1
    assert playbooks.Result(0, output.replace("failed=1", "failed=0"), "", 1.0).ok
    assert playbooks.parse_recap("no recap") == {}


def test_clean_env_drops_the_connection_variables():
    base = {"AUTHENTIK_TOKEN": "t", "SALESFORCE_USERNAME": "u", "AUTHENTIK_SANDBOX_PYTHON_2026_8": "/p", "HOME": "/h",
            "GONE": "x"}
    env = playbooks.clean_env({"EXTRA": 1, "GONE": None}, base=base)
    assert env == dict(playbooks.NO_COLOUR, AUTHENTIK_SANDBOX_PYTHON_2026_8="/p", HOME="/h", EXTRA="1")


def test_certificates(tmp_path):
    files = certificates.tls_files(tmp_path, "127.0.0.2", ips=("127.0.0.2",), dns=("localhost",))
    cert = x509.load_pem_x509_certificate(files["cert"].read_bytes())
    ca = x509.load_pem_x509_certificate(files["ca"].read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.2"]
    assert oct(files["key"].stat().st_mode & 0o777) == "0o600"
    ssl.create_default_context(cafile=str(files["ca"])).load_cert_chain(files["cert"], files["key"])
    expired = x509.load_pem_x509_certificate(certificates.self_signed("old", days=-1)[0].encode())
    assert expired.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)
    pem, key = certificates.self_signed("ec", kind="ec")
    assert "BEGIN CERTIFICATE" in pem and "BEGIN PRIVATE KEY" in key


def test_fakes():
    answer = fakes.response(200, {"a": 1})
    assert (answer.json(), answer.headers["Content-Type"], answer.reason) == ({"a": 1}, "application/json", "OK")
    page = fakes.response(502, text="<html>x</html>", content_type="text/html", headers={"Retry-After": "1"})
    assert (page.text, page.headers["Content-Type"], page.headers["retry-after"]) == (
        "<html>x</html>", "text/html", "1")
    http = fakes.FakeHTTP(answer, ValueError("lost"), lambda method, url, kwargs: fakes.response(201))
    assert http.request("GET", "https://x/a") is answer
    with pytest.raises(ValueError):
        http.request("POST", "https://x/b", json={})
    assert http.request("PUT", "https://x/c").status_code == 201
    with pytest.raises(AssertionError, match="unexpected request DELETE"):
        http.request("DELETE", "https://x/d")
    assert [call[:2] for call in http.calls] == [("GET", "https://x/a"), ("POST", "https://x/b"),
                                                 ("PUT", "https://x/c"), ("DELETE", "https://x/d")]
