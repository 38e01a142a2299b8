# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the Salesforce clients, with a fake transport (no server)."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sso.authentik.plugins.doc_fragments.salesforce import ModuleDocFragment
from ansible_collections.sso.authentik.plugins.module_utils import _salesforce as sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "salesforce")
INSTANCE = "https://acme.my.salesforce.com"
TOKEN = "00Df40000003eOA!AQ4AQFake.Token.One"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MET = "{http://soap.sforce.com/2006/04/metadata}"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


def response(status=200, body=b"", headers=None):
    """A real requests.Response, as the transport would return it."""
    resp = requests.Response()
    resp.status_code = status
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
    resp._content = body.encode() if isinstance(body, str) else body
    resp.headers.update(headers or {})
    resp.reason = {200: "OK", 401: "Unauthorized", 500: "Server Error"}.get(status, "")
    resp.encoding = "utf-8"
    return resp


class FakeHTTP:
    """Answers requests from a queue: a Response, an exception to raise, or a callable(method, url, kwargs)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(method, url, kwargs)
        return answer


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_pem(rsa_key):
    return rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


@pytest.fixture
def sleeps():
    return []


def make_session(http, login=None, sleeps=None, **kwargs):
    session = sf.SalesforceSession(login or sf.AccessTokenLogin(INSTANCE, TOKEN), http=http, **kwargs)
    session._sleep = (sleeps if sleeps is not None else []).append
    session._random = lambda: 0.5
    return session


def jwt_login(rsa_pem, **kwargs):
    return sf.JwtBearerLogin(INSTANCE, "3MVG9consumerkey", "admin@acme.example", private_key=rsa_pem,
                             clock=lambda: 1_800_000_000.4, **kwargs)


def token_response(token=TOKEN):
    body = json.loads(fixture("token_ok.json"))
    body["access_token"] = token
    return response(200, body)


# ---------------------------------------------------------------------------------------------------------------
# Options and documentation
# ---------------------------------------------------------------------------------------------------------------

ENV_VARS = {
    "instance_url": "SALESFORCE_INSTANCE_URL", "access_token": "SALESFORCE_ACCESS_TOKEN",
    "client_id": "SALESFORCE_CLIENT_ID", "client_secret": "SALESFORCE_CLIENT_SECRET",
    "username": "SALESFORCE_USERNAME", "private_key": "SALESFORCE_PRIVATE_KEY",
    "private_key_file": "SALESFORCE_PRIVATE_KEY_FILE", "api_version": "SALESFORCE_API_VERSION",
    "validate_certs": "SALESFORCE_VALIDATE_CERTS", "ca_path": "SALESFORCE_CA_PATH",
    "timeout": "SALESFORCE_TIMEOUT", "retries": "SALESFORCE_RETRIES",
}


def test_argument_spec_env_fallbacks_and_secrets():
    spec = sf.salesforce_argument_spec()
    assert set(spec) == set(ENV_VARS) | {"jwt_audience"}
    for option, env in ENV_VARS.items():
        assert spec[option]["fallback"][1] == [env], option
    assert "fallback" not in spec["jwt_audience"]
    secrets = {name for name, opt in spec.items() if opt.get("no_log")}
    assert secrets == {"access_token", "client_secret", "private_key"}
    assert spec["private_key_file"]["type"] == "path" and spec["private_key_file"]["no_log"] is False
    assert (spec["timeout"]["default"], spec["retries"]["default"], spec["validate_certs"]["default"]) == (30, 4, True)


def test_doc_fragment_documents_exactly_the_argument_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = sf.salesforce_argument_spec()
    assert set(doc) == set(spec)
    for name, option in spec.items():
        assert doc[name]["type"] == option["type"], name
        assert doc[name].get("default") == option.get("default"), name
        assert bool(doc[name].get("required")) == bool(option.get("required")), name
        if name in ENV_VARS:
            assert f"E({ENV_VARS[name]})" in " ".join(doc[name]["description"]), name


def test_env_fallback_and_mutually_exclusive_keys(monkeypatch):
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", INSTANCE)
    monkeypatch.setenv("SALESFORCE_TIMEOUT", "7")
    validator = ArgumentSpecValidator(sf.salesforce_argument_spec(), **sf.salesforce_module_kwargs())
    result = validator.validate({"access_token": TOKEN})
    assert not result.error_messages
    assert result.validated_parameters["instance_url"] == INSTANCE
    assert result.validated_parameters["timeout"] == 7
    assert TOKEN in result._no_log_values
    both = validator.validate({"private_key": "x", "private_key_file": "/tmp/k.pem"})
    assert any("mutually exclusive" in msg for msg in both.error_messages)


# ---------------------------------------------------------------------------------------------------------------
# Login strategies: selection and validation
# ---------------------------------------------------------------------------------------------------------------

def test_select_login_precedence(rsa_pem):
    everything = {"instance_url": INSTANCE + "/", "access_token": TOKEN, "client_id": "id", "username": "u",
                  "private_key": rsa_pem, "client_secret": "s"}
    login = sf.select_login(everything)
    assert isinstance(login, sf.AccessTokenLogin) and login.instance_url == INSTANCE
    assert isinstance(sf.select_login(dict(everything, access_token=None)), sf.JwtBearerLogin)
    assert isinstance(sf.select_login(dict(everything, access_token="", private_key=None)), sf.ClientCredentialsLogin)


@pytest.mark.parametrize("params, needle", [
    ({}, "No Salesforce credentials"),
    ({"client_id": "id"}, "client_id needs either private_key"),
    ({"private_key": "PEM", "username": "u"}, "client_id is required for the JWT bearer login"),
    ({"private_key": "PEM", "client_id": "id"}, "username is required for the JWT bearer login"),
    ({"client_secret": "s"}, "client_id is required for the client credentials login"),
    ({"access_token": "Bearer abc"}, "without 'Bearer '"),
    ({"access_token": "abc", "timeout": 0}, "timeout must be at least 1 second"),
    ({"access_token": "abc", "ca_path": "/no/such/ca.pem"}, "ca_path /no/such/ca.pem cannot be read"),
])
def test_login_inputs_refused_before_any_request(params, needle):
    http = FakeHTTP()
    with pytest.raises(sf.EngineError, match=needle):
        sf.SalesforceSession.from_params(dict({"instance_url": INSTANCE}, **params), http=http)
    assert http.calls == []


@pytest.mark.parametrize("url, needle", [
    ("", "instance_url is required"),
    ("acme.my.salesforce.com", "must be a URL"),
    ("ftp://acme.my.salesforce.com", "must be a URL"),
    ("https://login.salesforce.com", "My Domain URL"),
    ("https://test.salesforce.com/", "My Domain URL"),
    ("https://admin:pw@acme.my.salesforce.com", "must not carry a user name or password"),
    ("https://acme.my.salesforce.com:port", "must be a URL"),
    ("https://acme .my.salesforce.com", "must be a URL"),
])
def test_instance_url_checked(url, needle):
    with pytest.raises(sf.SalesforceError, match=needle):
        sf.SalesforceSession.from_params({"instance_url": url, "client_id": "id", "client_secret": "s"},
                                         http=FakeHTTP())


def test_private_key_problems_named(tmp_path):
    def refused(**key):
        login = sf.JwtBearerLogin(INSTANCE, "id", "u", **key)
        with pytest.raises(sf.SalesforceError) as info:
            login.validate()
        return info.value.message

    assert "private_key is not PEM text" in refused(private_key="not a key")
    garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    assert refused(private_key=garbage) == "private_key is not a valid PEM private key"
    assert "cannot be read" in refused(private_key_file=str(tmp_path / "missing.pem"))

    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    encrypted = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(b"pw"))
    path = tmp_path / "enc.pem"
    path.write_bytes(encrypted)
    assert "private_key_file is encrypted" in refused(private_key_file=str(path))

    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    assert "must be an RSA private key" in refused(private_key=ec_pem)
    # The message never repeats the key material.
    assert "AAAA" not in refused(private_key=garbage)


def test_private_key_file_and_one_line_pem(tmp_path, rsa_pem):
    path = tmp_path / "key.pem"
    path.write_text(rsa_pem)
    sf.JwtBearerLogin(INSTANCE, "id", "u", private_key_file=str(path)).validate()
    squeezed = rsa_pem.strip().replace("\n", "\\n")  # as an environment variable may carry it
    sf.JwtBearerLogin(INSTANCE, "id", "u", private_key=squeezed).validate()


# ---------------------------------------------------------------------------------------------------------------
# JWT bearer and client credentials logins
# ---------------------------------------------------------------------------------------------------------------

def _b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_jwt_claims_and_signature_verify_with_public_key(rsa_key, rsa_pem):
    login = jwt_login(rsa_pem)
    login.validate()
    header, claims, signature = login.assertion().split(".")
    assert "=" not in header + claims + signature  # base64url without padding
    assert json.loads(_b64decode(header)) == {"alg": "RS256"}
    assert json.loads(_b64decode(claims)) == {"iss": "3MVG9consumerkey", "sub": "admin@acme.example",
                                              "aud": INSTANCE, "exp": 1_800_000_180}
    public = rsa_key.public_key()
    public.verify(_b64decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(_b64decode(signature), f"{header}.{claims}x".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_jwt_audience_override(rsa_pem):
    login = jwt_login(rsa_pem, audience="https://test.salesforce.com/")
    login.validate()
    assert login.claims()["aud"] == "https://test.salesforce.com"
    assert login.token_url() == INSTANCE + "/services/oauth2/token"


def test_jwt_login_posts_assertion_to_my_domain(rsa_pem):
    http = FakeHTTP(token_response(), response(200, {"ok": True}))
    session = make_session(http, jwt_login(rsa_pem))
    assert session.request("GET", "/services/data/v63.0/limits").json() == {"ok": True}
    method, url, kwargs = http.calls[0]
    assert (method, url) == ("POST", INSTANCE + "/services/oauth2/token")
    assert kwargs["data"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert kwargs["data"]["assertion"].count(".") == 2
    assert "Authorization" not in (kwargs.get("headers") or {})
    assert http.calls[1][2]["headers"]["Authorization"] == "Bearer " + TOKEN
    assert session.login_info["id"].endswith("/00558000001N0KeAAK")
    assert "access_token" not in session.login_info


def test_client_credentials_form():
    http = FakeHTTP(token_response())
    session = make_session(http, sf.ClientCredentialsLogin(INSTANCE, "key", "secret"))
    assert session.access_token == TOKEN
    assert http.calls[0][2]["data"] == {"grant_type": "client_credentials", "client_id": "key",
                                        "client_secret": "secret"}


def test_token_endpoint_error_is_a_sentence(rsa_pem):
    http = FakeHTTP(response(400, fixture("token_invalid_grant.json")))
    session = make_session(http, jwt_login(rsa_pem))
    with pytest.raises(sf.SalesforceError) as info:
        session.request("GET", "/services/data/")
    error = info.value
    assert error.code == "invalid_grant" and error.status == 400
    assert error.message.startswith("Salesforce refused the JWT bearer login at "
                                    "https://acme.my.salesforce.com/services/oauth2/token (HTTP 400, invalid_grant): "
                                    "user hasn't approved this consumer. Hint: ")
    assert "pre-authorizes" in error.message
    assert len(http.calls) == 1  # a refused login is not retried


def test_client_secret_never_in_errors():
    echo = response(400, {"error": "invalid_client", "error_description": "bad secret s3cr3t-value"})
    session = make_session(FakeHTTP(echo), sf.ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"))
    with pytest.raises(sf.SalesforceError) as info:
        session.request("GET", "/services/data/")
    assert "(HTTP 400, invalid_client): bad secret ********. Hint: client_id or client_secret is wrong" in \
        info.value.message
    assert "s3cr3t-value" not in info.value.message


def test_token_endpoint_html_error():
    http = FakeHTTP(response(500, "<html><body><h1>Internal error</h1></body></html>"))
    session = make_session(http, sf.ClientCredentialsLogin(INSTANCE, "key", "secret"))
    with pytest.raises(sf.SalesforceError, match=r"\(HTTP 500\): Internal error"):
        assert session.access_token is None  # not reached


# ---------------------------------------------------------------------------------------------------------------
# Session: lazy login, re-login, retries, limits
# ---------------------------------------------------------------------------------------------------------------

def test_logs_in_lazily_once(rsa_pem):
    http = FakeHTTP(token_response(), response(200, []), response(200, []))
    session = make_session(http, jwt_login(rsa_pem))
    assert http.calls == []  # nothing before the first call
    session.request("GET", "/services/data/v63.0/a")
    session.request("GET", "/services/data/v63.0/b")
    assert [c[1].rsplit("/", 1)[-1] for c in http.calls] == ["token", "a", "b"]
    assert session.usage() == {"calls": 3, "retries": 0, "logins": 1, "api_usage": None}


def test_invalid_session_relogs_in_once_then_succeeds(rsa_pem):
    http = FakeHTTP(token_response("00D!first"), response(401, fixture("rest_invalid_session.json")),
                    token_response("00D!second"), response(200, {"done": True}))
    session = make_session(http, jwt_login(rsa_pem))
    assert session.request("GET", "/services/data/v63.0/x").json() == {"done": True}
    assert http.calls[1][2]["headers"]["Authorization"] == "Bearer 00D!first"
    assert http.calls[3][2]["headers"]["Authorization"] == "Bearer 00D!second"
    assert session.logins == 2


def test_invalid_session_twice_gives_up(rsa_pem):
    http = FakeHTTP(token_response("00D!first"), response(401, fixture("rest_invalid_session.json")),
                    token_response("00D!second"), response(401, fixture("rest_invalid_session.json")))
    session = make_session(http, jwt_login(rsa_pem))
    with pytest.raises(sf.SalesforceError, match="even right after a new JWT bearer login") as info:
        session.request("GET", "/services/data/v63.0/x")
    assert info.value.code == "INVALID_SESSION_ID" and len(http.calls) == 4
    assert "00D!second" not in info.value.message


def test_given_access_token_expired():
    http = FakeHTTP(response(401, [{"message": "Session expired or invalid " + TOKEN,
                                    "errorCode": "INVALID_SESSION_ID"}]))
    session = make_session(http)
    with pytest.raises(sf.SalesforceError) as info:
        session.request("GET", "/services/data/v63.0/sobjects")
    message = info.value.message
    assert message.startswith("GET /services/data/v63.0/sobjects: Salesforce rejected the access token")
    assert "expired or was revoked" in message
    assert TOKEN not in message and "********" in message  # even when the server echoes it
    assert len(http.calls) == 1


def test_daily_limit_never_retried(sleeps):
    headers = {"Sforce-Limit-Info": "api-usage=100000/100000"}
    http = FakeHTTP(response(403, fixture("rest_total_requests.json"), headers))
    session = make_session(http, sleeps=sleeps)
    with pytest.raises(sf.SalesforceError) as info:
        session.request("GET", "/services/data/v63.0/query")
    assert len(http.calls) == 1 and sleeps == []
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED" and info.value.status == 403
    assert "daily API request limit is used up" in info.value.message
    assert "last seen usage 100000/100000" in info.value.message


def test_concurrent_limit_retried_with_bounded_backoff(sleeps):
    concurrent = [response(403, fixture("rest_concurrent.json")) for unused in range(3)]
    http = FakeHTTP(*concurrent, response(200, {"ok": 1}))
    session = make_session(http, sleeps=sleeps, retries=4)
    assert session.request("GET", "/services/data/v63.0/x").json() == {"ok": 1}
    assert sleeps == [0.75, 1.5, 3.0]  # 1, 2, 4 seconds with jitter 0.5 -> 3/4 of each


def test_retries_exhausted(sleeps):
    http = FakeHTTP(*[response(403, fixture("rest_concurrent.json")) for unused in range(3)])
    session = make_session(http, sleeps=sleeps, retries=2)
    with pytest.raises(sf.SalesforceError, match=r"HTTP 403 REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgLongTxn.*"
                                                 r"after 3 attempts"):
        session.request("GET", "/services/data/v63.0/x")
    assert len(http.calls) == 3 and len(sleeps) == 2


def test_backoff_grows_but_is_capped(sleeps):
    session = make_session(FakeHTTP(), sleeps=sleeps)
    session._random = lambda: 1.0
    for attempt in range(1, 9):
        session.transport.backoff.wait(attempt)
    assert sleeps == [1, 2, 4, 8, 16, 30, 30, 30]


def test_429_honours_retry_after(sleeps):
    http = FakeHTTP(response(429, "slow down", {"Retry-After": "7"}), response(200, {"ok": 1}))
    session = make_session(http, sleeps=sleeps)
    session.request("GET", "/services/data/v63.0/x")
    assert sleeps == [7.0]


def test_503_retried_even_for_writes_but_502_only_for_idempotent(sleeps):
    http = FakeHTTP(response(503, "maintenance"), response(201, {"id": "x"}))
    session = make_session(http, sleeps=sleeps)
    assert session.request("POST", "/services/data/v63.0/sobjects/X", json={}).status_code == 201

    http = FakeHTTP(response(502, "bad gateway"))
    session = make_session(http, sleeps=sleeps)
    with pytest.raises(sf.WriteOutcomeUnknown, match="HTTP 502.*may or may not have been applied"):
        session.request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert len(http.calls) == 1

    http = FakeHTTP(response(502, "bad gateway"), response(200, {}))
    make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert len(http.calls) == 2


def test_connection_errors(sleeps):
    http = FakeHTTP(requests.exceptions.ConnectionError("reset"), response(200, {}))
    make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert len(http.calls) == 2

    # A write whose answer was lost is not repeated: it may have been applied.
    http = FakeHTTP(requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(sf.WriteOutcomeUnknown) as info:
        make_session(http, sleeps=sleeps, timeout=9).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert len(http.calls) == 1
    assert "no answer within 9 seconds" in info.value.msg
    assert "may or may not have been applied" in info.value.msg

    http = FakeHTTP(requests.exceptions.ConnectTimeout("never connected"), response(201, {}))
    make_session(http, sleeps=sleeps).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert len(http.calls) == 2

    http = FakeHTTP(requests.exceptions.SSLError("bad cert"))
    with pytest.raises(sf.SalesforceError, match="give the CA bundle with ca_path"):
        make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert len(http.calls) == 1


def test_tls_and_timeout_options_reach_the_transport():
    http = FakeHTTP(response(200, {}), response(200, {}))
    make_session(http, validate_certs=False, timeout=5).request("GET", "/x")
    make_session(http, ca_path="/etc/ca.pem").request("GET", "/x")
    assert [(c[2]["verify"], c[2]["timeout"]) for c in http.calls] == [(False, 5), ("/etc/ca.pem", 30)]


def test_never_sends_the_token_to_another_host():
    session = make_session(FakeHTTP())
    with pytest.raises(sf.SalesforceError, match="Refusing to send the session to evil.example"):
        session.request("GET", "https://evil.example/services/data/")


def test_default_transport_is_requests_session(monkeypatch):
    seen = []

    def fake_request(self, method, url, **kwargs):
        seen.append((type(self), method, url))
        return response(200, {"ok": True})

    monkeypatch.setattr(requests.Session, "request", fake_request)
    session = sf.SalesforceSession(sf.AccessTokenLogin(INSTANCE, TOKEN))
    assert session.request("GET", "services/data/").json() == {"ok": True}
    assert seen == [(requests.Session, "GET", INSTANCE + "/services/data/")]


@pytest.mark.parametrize("header, expected", [
    ("api-usage=10018/100000", {"api-usage": {"used": 10018, "limit": 100000}}),
    ("api-usage=25/5000; api-bursts=1/750; per-app-api-usage=17/250(appName=sample-app)",
     {"api-usage": {"used": 25, "limit": 5000}, "api-bursts": {"used": 1, "limit": 750},
      "per-app-api-usage": {"used": 17, "limit": 250, "app": "sample-app"}}),
    ("", {}),
    (None, {}),
])
def test_parse_limit_info(header, expected):
    assert sf.parse_limit_info(header) == expected


def test_session_tracks_limit_info_and_calls():
    http = FakeHTTP(response(200, {}, {"Sforce-Limit-Info": "api-usage=10/15000"}),
                    response(200, {}, {"Sforce-Limit-Info": "api-usage=11/15000; api-bursts=1/750"}),
                    response(200, {}))  # GET /services/data/ carries no header: the last value stays
    session = make_session(http)
    for path in ("a", "b", "c"):
        session.request("GET", "/services/data/v63.0/" + path)
    assert session.api_usage == {"used": 11, "limit": 15000}
    assert session.limit_info["api-bursts"] == {"used": 1, "limit": 750}
    assert session.usage()["calls"] == 3


# ---------------------------------------------------------------------------------------------------------------
# REST: versions, queries, errors, ids
# ---------------------------------------------------------------------------------------------------------------

def test_api_version_discovered_once_and_newest():
    http = FakeHTTP(response(200, fixture("versions.json")))
    rest = sf.RestClient(make_session(http))
    assert rest.api_version == "67.0"
    assert rest.api_version == "67.0" and sf.MetadataClient(rest.session).path == "/services/Soap/m/67.0"
    assert len(http.calls) == 1 and http.calls[0][1] == INSTANCE + "/services/data/"


def test_api_version_override_skips_discovery():
    http = FakeHTTP()
    rest = sf.RestClient(make_session(http, api_version="v63"))
    assert rest.api_version == "63.0" and rest.data_path("query") == "/services/data/v63.0/query"
    assert http.calls == []


@pytest.mark.parametrize("value", ["59.0", "42", "abc"])
def test_api_version_override_refused(value):
    with pytest.raises(sf.SalesforceError, match="api_version"):
        make_session(FakeHTTP(), api_version=value)


def test_old_org_refused():
    http = FakeHTTP(response(200, [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}]))
    with pytest.raises(sf.SalesforceError, match="newest API version is 59.0; this collection needs 60.0"):
        assert sf.RestClient(make_session(http)).api_version is None  # not reached


def test_query_follows_next_records_url():
    http = FakeHTTP(response(200, fixture("query_page1.json")), response(200, fixture("query_page2.json")))
    rest = sf.RestClient(make_session(http, api_version="63.0"))
    records = rest.query("SELECT Id, Name FROM Profile")
    assert [r["Name"] for r in records] == ["System Administrator", "Standard User", "Read Only"]
    assert http.calls[0][1] == INSTANCE + "/services/data/v63.0/query"
    assert http.calls[0][2]["params"] == {"q": "SELECT Id, Name FROM Profile"}
    assert http.calls[1][1] == INSTANCE + "/services/data/v63.0/query/01gD0000002HU6KIAW-2000"


def test_tooling_query_path():
    http = FakeHTTP(response(200, {"totalSize": 0, "done": True, "records": []}))
    assert sf.RestClient(make_session(http, api_version="63.0")).query("SELECT Id FROM Certificate",
                                                                       tooling=True) == []
    assert http.calls[0][1] == INSTANCE + "/services/data/v63.0/tooling/query"


def test_rest_error_array_is_a_sentence():
    http = FakeHTTP(response(400, fixture("rest_malformed_query.json")))
    with pytest.raises(sf.SalesforceError) as info:
        sf.RestClient(make_session(http, api_version="63.0")).query("SELECT Id FORM Profile")
    assert info.value.message == ("GET /services/data/v63.0/query failed with HTTP 400 MALFORMED_QUERY: "
                                  "unexpected token: FORM (fields: Name)")
    assert info.value.fail_kwargs() == {"msg": info.value.message, "status": 400, "error_code": "MALFORMED_QUERY"}


def test_rest_error_array_with_several_errors():
    body = [{"message": "first", "errorCode": "A"}, {"message": "second", "errorCode": "B", "fields": ["X"]}]
    assert sf.describe_error(response(400, body)) == ("A", "first; second", ["X"])


@pytest.mark.parametrize("value, literal", [
    ("System Administrator", "'System Administrator'"),
    ("O'Brien", "'O\\'Brien'"),
    ("back\\slash", "'back\\\\slash'"),
    ("x' OR Name != '", "'x\\' OR Name != \\''"),
    ('say "hi"\n', "'say \\\"hi\\\"\\n'"),
])
def test_soql_quote(value, literal):
    assert sf.soql_quote(value) == literal


def test_id_conversion_known_examples():
    assert sf.to_18("00558000001N0Ke") == "00558000001N0KeAAK"  # reference example
    assert sf.to_18("000000000000000") == "000000000000000AAA"  # no upper-case letter: 0 0 0
    assert sf.to_18("AAAAAAAAAAAAAAA") == "AAAAAAAAAAAAAAA555"  # all upper-case: 31 31 31
    assert sf.to_18("A0000B00000000C") == "A0000B00000000CBBQ"  # bits: 1, 1, 16
    assert sf.to_18("00558000001N0KeAAK") == "00558000001N0KeAAK"
    assert sf.to_15("00558000001N0KeAAK") == "00558000001N0Ke"
    assert sf.same_id("00558000001N0Ke", "00558000001N0KeAAK")
    assert not sf.same_id("00558000001N0Ke", "00558000001N0KE")  # 15-character ids are case-sensitive


@pytest.mark.parametrize("value", ["", "0055800000", "00558000001N0Ke!", "00558000001N0KeAAA", "00558000001N0Keaak",
                                   None, 12345])
def test_invalid_ids(value):
    assert not sf.is_salesforce_id(value)
    with pytest.raises(sf.SalesforceError, match="is not a Salesforce id"):
        sf.to_18(value)


# ---------------------------------------------------------------------------------------------------------------
# Metadata API: envelopes
# ---------------------------------------------------------------------------------------------------------------

def test_envelope_order_type_escaping_and_session_header():
    component = {  # deliberately out of order
        "validationCert": "MIIC", "userProvisioning": True, "samlVersion": "SAML2_0", "name": "authentik & <co>",
        "issuer": "https://idp.example/?a=1&b='2'", "identityMapping": "FederationId", "redirectBinding": False,
        "identityLocation": "SubjectNameId", "fullName": "authentik", "samlEntityId": INSTANCE, "errorUrl": None,
    }
    xml = sf.soap_envelope("00D!tok<&>", "<met:upsertMetadata>" + sf.metadata_to_xml("SamlSsoConfig", component)
                           + "</met:upsertMetadata>")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.encode())
    session_id = root.find(f"{{{sf.SOAPENV_NS}}}Header/{MET}SessionHeader/{MET}sessionId")
    assert session_id.text == "00D!tok<&>"
    metadata = root.find(f"{{{sf.SOAPENV_NS}}}Body/{MET}upsertMetadata/{MET}metadata")
    assert metadata.get(f"{XSI}type") == "met:SamlSsoConfig"
    assert [child.tag.replace(MET, "") for child in metadata] == [
        "fullName", "identityLocation", "identityMapping", "issuer", "name", "redirectBinding", "samlEntityId",
        "samlVersion", "userProvisioning", "validationCert"]
    values = {child.tag.replace(MET, ""): child.text for child in metadata}
    assert values["name"] == "authentik & <co>" and values["issuer"] == "https://idp.example/?a=1&b='2'"
    assert (values["redirectBinding"], values["userProvisioning"]) == ("false", "true")
    assert "&amp; &lt;co&gt;" in xml


def test_nested_and_repeated_values():
    xml = sf.metadata_to_xml("SecuritySettings", {
        "singleSignOnSettings": {"enableSamlLogin": True, "enableCaseInsensitiveFederationID": False,
                                 "enableMultipleSamlConfigs": True},
        "fullName": "Security",
    })
    assert xml == ('<met:metadata xsi:type="met:SecuritySettings"><met:fullName>Security</met:fullName>'
                   "<met:singleSignOnSettings>"
                   "<met:enableCaseInsensitiveFederationID>false</met:enableCaseInsensitiveFederationID>"
                   "<met:enableMultipleSamlConfigs>true</met:enableMultipleSamlConfigs>"
                   "<met:enableSamlLogin>true</met:enableSamlLogin>"
                   "</met:singleSignOnSettings></met:metadata>")
    xml = sf.metadata_to_xml("ExtlClntAppOauthSettings", {
        "fullName": "A_oauth", "trustedIpRanges": [{"startIpAddress": "10.0.0.1", "endIpAddress": "10.0.0.9"},
                                                   {"startIpAddress": "10.1.0.1", "endIpAddress": "10.1.0.9"}],
        "externalClientApplication": "A", "commaSeparatedOauthScopes": "Api, OpenID", "assetTokenValidity": 5})
    assert xml.index("assetTokenValidity>5<") < xml.index("commaSeparatedOauthScopes") < xml.index(
        "externalClientApplication") < xml.index("trustedIpRanges")
    assert xml.count("<met:trustedIpRanges>") == 2
    assert "<met:trustedIpRanges><met:endIpAddress>10.0.0.9</met:endIpAddress>" in xml


def test_fields_of_newer_api_versions_placed_alphabetically():
    order = sf.metadata_field_order("ExtlClntAppConfigurablePolicies",
                                    ["startUrl", "isCanvasPluginEnabled", "isEnabled", "fullName", "label", "aaa"])
    assert order == ["fullName", "aaa", "isCanvasPluginEnabled", "isEnabled", "label", "startUrl"]
    assert sf.metadata_field_order("UnknownType", ["b", "a"]) == ["b", "a"]


@pytest.mark.parametrize("bad", [{"fullName": "x", "bad name": 1}, {"fullName": "x", "label": object()}])
def test_bad_values_refused(bad):
    with pytest.raises(sf.SalesforceError):
        sf.metadata_to_xml("ExternalClientApplication", bad)


def _wsdl_sequences():
    spec = importlib.util.find_spec("simple_salesforce")
    assert spec is not None, "the test dependency simple-salesforce (tests/requirements.txt) is missing"
    path = os.path.join(os.path.dirname(spec.origin), "metadata.wsdl")
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    sequences = {}
    for complex_type in ET.parse(path).getroot().iter(f"{xsd}complexType"):
        name = complex_type.get("name")
        extension = complex_type.find(f"{xsd}complexContent/{xsd}extension")
        base = ["fullName"] if extension is not None and extension.get("base") == "tns:Metadata" else []
        sequence = complex_type.find(f".//{xsd}sequence")
        elements = [] if sequence is None else sequence.findall(f"{xsd}element")
        sequences[name] = base + [
            (el.get("name"), el.get("type"), el.get("maxOccurs") == "unbounded") for el in elements]
    return sequences


def test_field_table_matches_the_wsdl():
    """The hand-written order table against the WSDL that simple-salesforce bundles (Metadata API 63.0)."""
    sequences = _wsdl_sequences()
    kinds = {"xsd:boolean": "bool", "xsd:int": "int", "xsd:string": "str"}
    for type_name, fields in sf.METADATA_FIELDS.items():
        wsdl = sequences[type_name]
        assert list(fields) == [entry if isinstance(entry, str) else entry[0] for entry in wsdl], type_name
        for entry in wsdl:
            if isinstance(entry, str):
                continue
            name, xsd_type, repeated = entry
            kind = fields[name][0]
            expected = kinds.get(xsd_type, xsd_type.split(":")[-1])
            if kind == "str":  # enumerations are strings to us
                assert expected == "str" or not sequences.get(expected), (type_name, name)
            else:
                assert kind == expected, (type_name, name)
            assert fields[name][1] == repeated, (type_name, name)


# ---------------------------------------------------------------------------------------------------------------
# Metadata API: calls and responses
# ---------------------------------------------------------------------------------------------------------------

def metadata_client(*answers, login=None, sleeps=None):
    http = FakeHTTP(*answers)
    return sf.MetadataClient(make_session(http, login=login, sleeps=sleeps, api_version="63.0")), http


def test_read_request_and_parsed_record():
    client, http = metadata_client(response(200, fixture("read_saml_sso_config.xml")))
    record = client.read("SamlSsoConfig", "authentik")
    method, url, kwargs = http.calls[0]
    assert (method, url) == ("POST", INSTANCE + "/services/Soap/m/63.0")
    assert kwargs["headers"]["Content-Type"] == "text/xml; charset=UTF-8"
    assert kwargs["headers"]["SOAPAction"] == "readMetadata"
    assert "Authorization" not in kwargs["headers"]
    body = ET.fromstring(kwargs["data"])
    assert body.find(f".//{MET}sessionId").text == TOKEN
    read = body.find(f".//{MET}readMetadata")
    assert [(el.tag.replace(MET, ""), el.text) for el in read] == [
        ("type", "SamlSsoConfig"), ("fullNames", "authentik")]
    assert record["fullName"] == "authentik" and record["identityMapping"] == "FederationId"
    assert record["redirectBinding"] is False and record["userProvisioning"] is True
    assert record["requestSignatureMethod"] == "1"
    assert record["salesforceLoginUrl"] == "https://acme.my.salesforce.com?so=00Df40000003eOA"


def test_read_missing_is_none():
    client = metadata_client(response(200, fixture("read_missing.xml")))[0]
    assert client.read("SamlSsoConfig", "nope") is None


def test_read_several_aligned_with_names():
    client, http = metadata_client(response(200, fixture("read_two_one_missing.xml")))
    missing, found = client.read("ExtlClntAppGlobalOauthSettings", ["Gone_glbloauth", "Authentik_glbloauth"])
    assert missing is None
    assert found["consumerKey"] == "3MVG9abcDEF" and found["isPkceRequired"] is True
    assert found["idTokenConfig"] == {"idTokenIncludeStandardClaims": True, "idTokenValidityInMinutes": 2}
    assert len(ET.fromstring(http.calls[0][2]["data"]).findall(f".//{MET}fullNames")) == 2


def test_read_security_settings_nested_blocks():
    client = metadata_client(response(200, fixture("read_security_settings.xml")))[0]
    record = client.read("SecuritySettings", "Security")
    assert record["singleSignOnSettings"]["enableMultipleSamlConfigs"] is True
    assert record["singleSignOnSettings"]["enableSamlLogin"] is False
    assert record["networkAccess"] == {"ipRanges": {"end": "10.0.0.255", "start": "10.0.0.1"}}
    # Round trip: what was read can be written back in the same order.
    xml = sf.metadata_to_xml("SecuritySettings", record)
    assert xml.index("enableAdminLoginAsAnyUser") < xml.index("networkAccess") < xml.index("sessionSettings") < \
        xml.index("singleSignOnSettings")


def test_upsert_returns_created_flag():
    client, http = metadata_client(response(200, fixture("upsert_created.xml")))
    results = client.upsert("SamlSsoConfig", {"fullName": "authentik", "name": "authentik"})
    assert results == [{"fullName": "authentik", "success": True, "created": True, "errors": []}]
    assert http.calls[0][2]["headers"]["SOAPAction"] == "upsertMetadata"
    metadata = ET.fromstring(http.calls[0][2]["data"]).find(f".//{MET}upsertMetadata/{MET}metadata")
    assert metadata.get(f"{XSI}type") == "met:SamlSsoConfig"


def test_per_item_errors_raise():
    client = metadata_client(response(200, fixture("create_duplicate.xml")))[0]
    with pytest.raises(sf.SalesforceError) as info:
        client.create("SamlSsoConfig", [{"fullName": "authentik"}])
    assert info.value.message == ("Metadata API createMetadata failed for SamlSsoConfig 'authentik': "
                                  "DUPLICATE_VALUE: duplicate value found")
    assert info.value.code == "DUPLICATE_VALUE"

    client = metadata_client(response(200, fixture("update_field_error.xml")))[0]
    with pytest.raises(sf.SalesforceError, match=r"FIELD_INTEGRITY_EXCEPTION: Just-in-time provisioning requires "
                                                 r"the Federation ID identity type \(fields: userProvisioning, "
                                                 r"identityMapping\)"):
        client.update("SamlSsoConfig", [{"fullName": "authentik"}])


def test_delete():
    client, http = metadata_client(response(200, fixture("delete_ok.xml")))
    assert client.delete("SamlSsoConfig", "authentik")[0]["success"] is True
    delete = ET.fromstring(http.calls[0][2]["data"]).find(f".//{MET}deleteMetadata")
    assert [el.text for el in delete] == ["SamlSsoConfig", "authentik"]


@pytest.mark.parametrize("call", [
    lambda c: c.read("SamlSsoConfig", []),
    lambda c: c.read("SamlSsoConfig", [f"n{i}" for i in range(11)]),
    lambda c: c.read("Bad Type", "x"),
    lambda c: c.upsert("SamlSsoConfig", [{"name": "no fullName"}]),
    lambda c: c.delete("SamlSsoConfig", [""]),
])
def test_metadata_input_checked_before_sending(call):
    client, http = metadata_client()
    with pytest.raises(sf.SalesforceError):
        call(client)
    assert http.calls == []


def test_soap_invalid_session_relogs_in_with_a_new_envelope(rsa_pem):
    client, http = metadata_client(token_response("00D!first"), response(500, fixture("fault_invalid_session.xml")),
                                   token_response("00D!second"), response(200, fixture("delete_ok.xml")),
                                   login=jwt_login(rsa_pem))
    client.delete("SamlSsoConfig", "authentik")
    assert "<met:sessionId>00D!first</met:sessionId>" in http.calls[1][2]["data"].decode()
    assert "<met:sessionId>00D!second</met:sessionId>" in http.calls[3][2]["data"].decode()


def test_soap_invalid_session_with_given_token():
    client, http = metadata_client(response(500, fixture("fault_invalid_session.xml")))
    with pytest.raises(sf.SalesforceError, match="Metadata API readMetadata .* rejected the access token"):
        client.read("SamlSsoConfig", "authentik")
    assert len(http.calls) == 1


def test_soap_daily_limit_not_retried(sleeps):
    client, http = metadata_client(response(500, fixture("fault_total_requests.xml")), sleeps=sleeps)
    with pytest.raises(sf.SalesforceError, match="daily API request limit is used up") as info:
        client.read("SamlSsoConfig", "authentik")
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED" and len(http.calls) == 1 and sleeps == []


def test_soap_concurrent_limit_retried(sleeps):
    client, http = metadata_client(response(500, fixture("fault_concurrent.xml")),
                                   response(200, fixture("upsert_created.xml")), sleeps=sleeps)
    client.upsert("SamlSsoConfig", {"fullName": "authentik"})
    assert len(http.calls) == 2 and len(sleeps) == 1


def test_soap_fault_is_a_sentence():
    client = metadata_client(response(500, fixture("fault_invalid_type.xml")))[0]
    with pytest.raises(sf.SalesforceError) as info:
        client.read("ExternalClientApplication", "A")
    assert info.value.message == ("Metadata API readMetadata (POST /services/Soap/m/63.0) failed with HTTP 500 "
                                  "INVALID_TYPE: This type of metadata is not available for this organization")


def test_fault_parsed_by_local_name():
    # The concurrent fault fixture has no detail and an unusual prefix: the code comes from faultcode.
    assert sf.describe_error(response(500, fixture("fault_concurrent.xml"))) == (
        "REQUEST_LIMIT_EXCEEDED",
        "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded.", [])
    assert sf.describe_error(response(500, "<html>Oops</html>")) == (None, "Oops", [])


def test_invalid_xml_response():
    client = metadata_client(response(200, "<not xml"))[0]
    with pytest.raises(sf.SalesforceError, match="the response cannot be read: it is not valid XML"):
        client.read("SamlSsoConfig", "authentik")


# ---------------------------------------------------------------------------------------------------------------
# Off the happy path (issue 9): redirects, secrets, hostile answers
# ---------------------------------------------------------------------------------------------------------------

EVIL = "https://evil.example/steal"


def redirect(status=307, location=EVIL):
    return response(status, "<html><body>moved</body></html>", {"Location": location})


def hosts(http):
    return [urlsplit(url).hostname for _method, url, _kwargs in http.calls]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_endpoint_never_follows_a_redirect(rsa_pem, status):
    for login in (sf.ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"), jwt_login(rsa_pem)):
        http = FakeHTTP(redirect(status))
        session = make_session(http, login)
        with pytest.raises(sf.SalesforceError) as info:
            session.access_token  # noqa: B018 - logs in
        assert hosts(http) == ["acme.my.salesforce.com"]  # the secret / the signed JWT went nowhere else
        assert "a redirect to https://evil.example/steal. Not followed" in info.value.msg
        assert "s3cr3t-value" not in info.value.msg


def test_soap_call_and_rest_write_never_follow_a_redirect():
    client, http = metadata_client(redirect(307))
    with pytest.raises(sf.SalesforceError, match="Not followed"):
        client.read("SamlSsoConfig", "authentik")  # the session id travels in the body
    assert hosts(http) == ["acme.my.salesforce.com"]
    http = FakeHTTP(redirect(308))
    with pytest.raises(sf.SalesforceError, match="Not followed"):
        make_session(http).request("POST", "/services/data/v63.0/sobjects/X", json={"a": 1})
    assert len(http.calls) == 1


def test_rest_read_follows_a_redirect_to_another_host_without_the_token():
    http = FakeHTTP(redirect(302, "https://cdn.example/data"), response(200, {"ok": 1}))
    assert make_session(http).request("GET", "/services/data/v63.0/x").json() == {"ok": 1}
    assert hosts(http) == ["acme.my.salesforce.com", "cdn.example"]
    assert http.calls[0][2]["headers"]["Authorization"] == "Bearer " + TOKEN
    assert http.calls[1][2]["headers"]["Authorization"] is None  # removed, not sent


def test_http_to_https_redirect_says_use_https():
    http = FakeHTTP(redirect(301, "https://acme.example/services/data/"))
    session = make_session(http, sf.AccessTokenLogin("http://acme.example", TOKEN))
    with pytest.raises(sf.SalesforceError, match=r"use https://acme.example as instance_url"):
        session.request("GET", "/services/data/")


def test_every_secret_registered_with_the_scrubber(rsa_pem):
    echo = {"error": "invalid_grant", "error_description": "got %s"}
    scrubber = sf.Scrubber()
    http = FakeHTTP(lambda method, url, kwargs: response(400, dict(echo, error_description="got "
                                                                   + kwargs["data"]["assertion"])))
    session = make_session(http, jwt_login(rsa_pem), scrubber=scrubber)
    with pytest.raises(sf.SalesforceError) as info:
        session.access_token  # noqa: B018 - logs in
    assertion = http.calls[0][2]["data"]["assertion"]
    assert assertion not in info.value.msg and "got ********" in info.value.msg
    key_line = rsa_pem.splitlines()[3]
    assert scrubber.text("key " + key_line) == "key ********"

    # The token obtained at login: masked in every later message, even when a server echoes it.
    scrubber = sf.Scrubber()
    http = FakeHTTP(token_response("00D!obtained.token"), response(400, [{"errorCode": "X", "message":
                                                                         "echo 00D!obtained.token"}]))
    session = make_session(http, sf.ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"), scrubber=scrubber)
    with pytest.raises(sf.SalesforceError) as info:
        session.request("GET", "/services/data/v63.0/x")
    assert "00D!obtained.token" not in info.value.msg
    assert scrubber.text("s3cr3t-value and 00D!obtained.token") == "******** and ********"


def test_tokens_are_cleaned_or_refused_without_being_echoed():
    http = FakeHTTP(response(200, {}))
    make_session(http, sf.AccessTokenLogin(INSTANCE, TOKEN + "\n")).request("GET", "/x")
    assert http.calls[0][2]["headers"]["Authorization"] == "Bearer " + TOKEN  # a vault block scalar's newline
    for bad in ("tok\u00e9n-value", "tok\x01en-value"):
        with pytest.raises(sf.EngineError) as info:
            make_session(FakeHTTP(), sf.AccessTokenLogin(INSTANCE, bad))
        assert "cannot be sent in an HTTP header" in info.value.msg and "en-value" not in info.value.msg
    with pytest.raises(sf.EngineError, match="client_secret contains whitespace"):
        make_session(FakeHTTP(), sf.ClientCredentialsLogin(INSTANCE, "key", "two words"))
    http = FakeHTTP(token_response("00D!bad token"))
    with pytest.raises(sf.EngineError, match="The access token the token endpoint returned contains whitespace"):
        make_session(http, sf.ClientCredentialsLogin(INSTANCE, "key", "secret")).access_token  # noqa: B018


def test_cleartext_warning_for_a_remote_plain_http_instance():
    session = make_session(FakeHTTP(), sf.ClientCredentialsLogin("http://acme.example", "key", "secret"))
    assert session.warnings == ["instance_url uses plain http:// to acme.example: the client secret and access "
                                "token travel(s) unencrypted over the network. Use https://."]
    assert make_session(FakeHTTP(), sf.AccessTokenLogin("http://127.0.0.1:8443", TOKEN)).warnings == []
    assert make_session(FakeHTTP()).warnings == []


@pytest.mark.parametrize("body", [
    {"version": "63.0"}, ["63.0", "64.0"], [{"label": "x"}], [{"version": 63}], [{"version": "../../evil/63.0"}],
    [], "\"versions\"",
])
def test_wrong_shaped_versions_are_a_sentence(body):
    http = FakeHTTP(response(200, body))
    with pytest.raises(sf.SalesforceError, match="returned no API versions"):
        sf.RestClient(make_session(http)).api_version  # noqa: B018


@pytest.mark.parametrize("body, needle", [
    ([{"Id": "x"}], "not a query result"), ({"totalSize": 1}, "not a query result"),
    ({"records": {"Id": "x"}}, "not a query result"), ({"records": ["005"]}, "not a query result"),
    ({"records": [], "done": False, "nextRecordsUrl": "https://evil.example/q"}, "not a query page of this org"),
    ({"records": [], "done": False, "nextRecordsUrl": "/services/data/../../x"}, "not a query page of this org"),
])
def test_wrong_shaped_query_answers_are_a_sentence(body, needle):
    http = FakeHTTP(response(200, body))
    session = make_session(http, api_version="63.0")
    with pytest.raises(sf.SalesforceError, match=needle):
        sf.RestClient(session).query("SELECT Id FROM User")
    assert len(http.calls) == 1


@pytest.mark.parametrize("rows", [[{"Username": "a@b.c"}], [{"Username": "a@b.c", "Id": 5}],
                                  [{"Username": "a@b.c", "Id": "not-an-id"}]])
def test_records_without_a_valid_id_are_a_sentence(rows):
    http = FakeHTTP(response(200, {"records": rows, "done": True}))
    client = sf.SalesforceClient(make_session(http, api_version="63.0"))
    with pytest.raises(sf.SalesforceError, match="user record without a valid Id"):
        client.lookup(sf.USER, ["a@b.c"])


@pytest.mark.parametrize("body", [{"access_token": 12}, {"access_token": None}, ["tok"], "tok",
                                  [{"access_token": "00D!listed.token.value"}], {"a": {"access_token": "00D!x.y.z"}}])
def test_token_endpoint_answers_of_the_wrong_shape(body):
    scrubber = sf.Scrubber()
    session = make_session(FakeHTTP(response(200, body)), sf.ClientCredentialsLogin(INSTANCE, "key", "secret"),
                           scrubber=scrubber)
    with pytest.raises(sf.SalesforceError, match="answered HTTP 200 without an access token it could read"):
        session.access_token  # noqa: B018
    for token in ("00D!listed.token.value", "00D!x.y.z"):
        if token in json.dumps(body):  # a token in an answer of any shape is never shown
            assert scrubber.text(token) == "********"


@pytest.mark.parametrize("body, content_type", [
    (b'<?xml version="1.0" encoding="bogus"?><a/>', "text/xml"), (b"<a/>", "text/xml; charset=bogus"),
    (b'{"records": []}', "application/json; charset=bogus"),
])
def test_unknown_charsets_are_read_not_raised(body, content_type):
    answer = response(200, body, {"Content-Type": content_type})
    answer.encoding = content_type.partition("charset=")[2] or None
    client = metadata_client(answer)[0]
    with pytest.raises(sf.SalesforceError, match="cannot be read|no readMetadataResponse"):
        client.read("SamlSsoConfig", "authentik")
    error = response(500, body, {"Content-Type": content_type})
    error.encoding = answer.encoding
    assert sf.describe_error(error)[0] is None


def test_login_info_keeps_text_only():
    body = dict(json.loads(fixture("token_ok.json")), access_token=TOKEN, instance_url=["x"], id={"a": 1})
    session = make_session(FakeHTTP(response(200, body)), sf.ClientCredentialsLogin(INSTANCE, "key", "secret"))
    assert session.access_token == TOKEN
    assert "instance_url" not in session.login_info and "id" not in session.login_info
    assert sf.SalesforceClient(session).instance_url == INSTANCE


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><Envelope><Body>&lol3;</Body></Envelope>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<Envelope><Body>&e;</Body></Envelope>')


@pytest.mark.parametrize("body, needle", [
    (BOMB, "declares a document type"), (EXTERNAL, "declares a document type"),
    (b'<?xml version="1.0"?><!DOCTYPE Envelope><Envelope/>', "declares a document type"),
    (BOMB.decode().encode("utf-16"), "declares a document type"),
    (b"<Envelope>\x00</Envelope>", "not valid XML"), (b"", "not valid XML"), (b"\xff\xfe<<", "not valid XML"),
    (b"<a>" * 5000, "not valid XML"),
])
def test_hostile_or_broken_xml_is_a_sentence(body, needle):
    client = metadata_client(response(200, body))[0]
    with pytest.raises(sf.SalesforceError, match=needle):
        client.read("SamlSsoConfig", "authentik")


def test_soap_error_with_a_doctype_is_not_parsed():
    client = metadata_client(response(500, BOMB))[0]
    with pytest.raises(sf.SalesforceError) as info:
        client.read("SamlSsoConfig", "authentik")
    assert "lollol" not in info.value.msg


def test_read_answer_with_a_nested_full_name():
    body = fixture("read_saml_sso_config.xml").replace(b"<fullName>authentik</fullName>",
                                                       b"<fullName><a>1</a></fullName>")
    assert metadata_client(response(200, body))[0].read("SamlSsoConfig", "authentik") is None


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "1e308", "soon", "Wed, 99 Foo 2026", "999999"])
def test_bad_retry_after_falls_back_to_the_default_backoff(sleeps, value):
    http = FakeHTTP(response(429, "slow down", {"Retry-After": value}), response(200, {"ok": 1}))
    make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert sleeps == [0.75]  # attempt 1: 1 second with jitter 0.5


def test_lost_write_names_the_salesforce_error():
    body = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred"}]
    http = FakeHTTP(response(500, body))
    with pytest.raises(sf.WriteOutcomeUnknown) as info:
        make_session(http).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert "may or may not have been applied" in info.value.msg and "UNKNOWN_EXCEPTION" in info.value.msg
    assert len(http.calls) == 1


def test_path_values_checked():
    session = make_session(FakeHTTP(), api_version="63.0")
    session.api_version = "63.0/../../x"
    with pytest.raises(sf.SalesforceError, match="as the API version in a URL path"):
        sf.RestClient(session).data_path("query")
    with pytest.raises(sf.SalesforceError, match="as the API version in a URL path"):
        sf.MetadataClient(session).path  # noqa: B018
