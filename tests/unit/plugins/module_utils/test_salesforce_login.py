# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options and the login strategies (_salesforce_login.py): access token, JWT bearer and client
credentials, with a fake transport (no server)."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sso.authentik.plugins.doc_fragments.salesforce import ModuleDocFragment
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError
from ansible_collections.sso.authentik.plugins.module_utils._http import Scrubber
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import (
    AccessTokenLogin, ClientCredentialsLogin, JwtBearerLogin, salesforce_argument_spec, salesforce_module_kwargs,
    select_login)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from salesforce_fakes import (
    FakeHTTP, INSTANCE, TOKEN, fixture, hosts, jwt_login, make_session, redirect, response, token_response)
from support import certificates


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
    spec = salesforce_argument_spec()
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
    spec = salesforce_argument_spec()
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
    validator = ArgumentSpecValidator(salesforce_argument_spec(), **salesforce_module_kwargs())
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
    login = select_login(everything)
    assert isinstance(login, AccessTokenLogin) and login.instance_url == INSTANCE
    assert isinstance(select_login(dict(everything, access_token=None)), JwtBearerLogin)
    assert isinstance(select_login(dict(everything, access_token="", private_key=None)), ClientCredentialsLogin)


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
    with pytest.raises(EngineError, match=needle):
        SalesforceSession.from_params(dict({"instance_url": INSTANCE}, **params), http=http)
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
    with pytest.raises(SalesforceError, match=needle):
        SalesforceSession.from_params({"instance_url": url, "client_id": "id", "client_secret": "s"},
                                      http=FakeHTTP())


def test_private_key_problems_named(tmp_path):
    def refused(**key):
        login = JwtBearerLogin(INSTANCE, "id", "u", **key)
        with pytest.raises(SalesforceError) as info:
            login.validate()
        return info.value.message

    assert "private_key is not PEM text" in refused(private_key="not a key")
    garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    assert refused(private_key=garbage) == "private_key is not a valid PEM private key"
    assert "cannot be read" in refused(private_key_file=str(tmp_path / "missing.pem"))

    other = certificates.new_key(size=1024)
    encrypted = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(b"pw"))
    path = tmp_path / "enc.pem"
    path.write_bytes(encrypted)
    assert "private_key_file is encrypted" in refused(private_key_file=str(path))

    ec_pem = certificates.key_pem(certificates.new_key("ec"))
    assert "must be an RSA private key" in refused(private_key=ec_pem)
    # The message never repeats the key material.
    assert "AAAA" not in refused(private_key=garbage)


def test_private_key_file_and_one_line_pem(tmp_path, rsa_pem):
    path = tmp_path / "key.pem"
    path.write_text(rsa_pem)
    JwtBearerLogin(INSTANCE, "id", "u", private_key_file=str(path)).validate()
    squeezed = rsa_pem.strip().replace("\n", "\\n")  # as an environment variable may carry it
    JwtBearerLogin(INSTANCE, "id", "u", private_key=squeezed).validate()


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
    session = make_session(http, ClientCredentialsLogin(INSTANCE, "key", "secret"))
    assert session.access_token == TOKEN
    assert http.calls[0][2]["data"] == {"grant_type": "client_credentials", "client_id": "key",
                                        "client_secret": "secret"}


def test_token_endpoint_error_is_a_sentence(rsa_pem):
    http = FakeHTTP(response(400, fixture("token_invalid_grant.json")))
    session = make_session(http, jwt_login(rsa_pem))
    with pytest.raises(SalesforceError) as info:
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
    session = make_session(FakeHTTP(echo), ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"))
    with pytest.raises(SalesforceError) as info:
        session.request("GET", "/services/data/")
    assert "(HTTP 400, invalid_client): bad secret ********. Hint: client_id or client_secret is wrong" in \
        info.value.message
    assert "s3cr3t-value" not in info.value.message


def test_token_endpoint_html_error():
    http = FakeHTTP(response(500, "<html><body><h1>Internal error</h1></body></html>"))
    session = make_session(http, ClientCredentialsLogin(INSTANCE, "key", "secret"))
    with pytest.raises(SalesforceError, match=r"\(HTTP 500\): Internal error"):
        assert session.access_token is None  # not reached


# ---------------------------------------------------------------------------------------------------------------
# Off the happy path (issue 9): redirects, secrets, answers of the wrong shape
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_endpoint_never_follows_a_redirect(rsa_pem, status):
    for login in (ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"), jwt_login(rsa_pem)):
        http = FakeHTTP(redirect(status))
        session = make_session(http, login)
        with pytest.raises(SalesforceError) as info:
            session.access_token  # noqa: B018 - logs in
        assert hosts(http) == ["acme.my.salesforce.com"]  # the secret / the signed JWT went nowhere else
        assert "a redirect to https://evil.example/steal. Not followed" in info.value.msg
        assert "s3cr3t-value" not in info.value.msg


def test_every_secret_registered_with_the_scrubber(rsa_pem):
    echo = {"error": "invalid_grant", "error_description": "got %s"}
    scrubber = Scrubber()
    http = FakeHTTP(lambda method, url, kwargs: response(400, dict(echo, error_description="got "
                                                                   + kwargs["data"]["assertion"])))
    session = make_session(http, jwt_login(rsa_pem), scrubber=scrubber)
    with pytest.raises(SalesforceError) as info:
        session.access_token  # noqa: B018 - logs in
    assertion = http.calls[0][2]["data"]["assertion"]
    assert assertion not in info.value.msg and "got ********" in info.value.msg
    key_line = rsa_pem.splitlines()[3]
    assert scrubber.text("key " + key_line) == "key ********"

    # The token obtained at login: masked in every later message, even when a server echoes it.
    scrubber = Scrubber()
    http = FakeHTTP(token_response("00D!obtained.token"), response(400, [{"errorCode": "X", "message":
                                                                         "echo 00D!obtained.token"}]))
    session = make_session(http, ClientCredentialsLogin(INSTANCE, "key", "s3cr3t-value"), scrubber=scrubber)
    with pytest.raises(SalesforceError) as info:
        session.request("GET", "/services/data/v63.0/x")
    assert "00D!obtained.token" not in info.value.msg
    assert scrubber.text("s3cr3t-value and 00D!obtained.token") == "******** and ********"


def test_tokens_are_cleaned_or_refused_without_being_echoed():
    http = FakeHTTP(response(200, {}))
    make_session(http, AccessTokenLogin(INSTANCE, TOKEN + "\n")).request("GET", "/x")
    assert http.calls[0][2]["headers"]["Authorization"] == "Bearer " + TOKEN  # a vault block scalar's newline
    for bad in ("tok\u00e9n-value", "tok\x01en-value"):
        with pytest.raises(EngineError) as info:
            make_session(FakeHTTP(), AccessTokenLogin(INSTANCE, bad))
        assert "cannot be sent in an HTTP header" in info.value.msg and "en-value" not in info.value.msg
    with pytest.raises(EngineError, match="client_secret contains whitespace"):
        make_session(FakeHTTP(), ClientCredentialsLogin(INSTANCE, "key", "two words"))
    http = FakeHTTP(token_response("00D!bad token"))
    with pytest.raises(EngineError, match="The access token the token endpoint returned contains whitespace"):
        make_session(http, ClientCredentialsLogin(INSTANCE, "key", "secret")).access_token  # noqa: B018


@pytest.mark.parametrize("body", [{"access_token": 12}, {"access_token": None}, ["tok"], "tok",
                                  [{"access_token": "00D!listed.token.value"}], {"a": {"access_token": "00D!x.y.z"}}])
def test_token_endpoint_answers_of_the_wrong_shape(body):
    scrubber = Scrubber()
    session = make_session(FakeHTTP(response(200, body)), ClientCredentialsLogin(INSTANCE, "key", "secret"),
                           scrubber=scrubber)
    with pytest.raises(SalesforceError, match="answered HTTP 200 without an access token it could read"):
        session.access_token  # noqa: B018
    for token in ("00D!listed.token.value", "00D!x.y.z"):
        if token in json.dumps(body):  # a token in an answer of any shape is never shown
            assert scrubber.text(token) == "********"
