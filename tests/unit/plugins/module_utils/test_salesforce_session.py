# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session (_salesforce_session.py): lazy login, re-login, retries, limits, redirects and how errors are read,
with a fake transport (no server)."""

from __future__ import annotations

import json

import pytest
import requests
from ansible_collections.sso.authentik.plugins.module_utils._http import WriteOutcomeUnknown
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import (
    AccessTokenLogin, ClientCredentialsLogin)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import SalesforceClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import (
    SalesforceSession, describe_error, parse_limit_info)
from salesforce_fakes import (
    FakeHTTP, INSTANCE, TOKEN, fixture, hosts, jwt_login, make_session, metadata_client, redirect, response,
    token_response)


# ---------------------------------------------------------------------------------------------------------------
# Lazy login, re-login, retries, limits
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
    with pytest.raises(SalesforceError, match="even right after a new JWT bearer login") as info:
        session.request("GET", "/services/data/v63.0/x")
    assert info.value.code == "INVALID_SESSION_ID" and len(http.calls) == 4
    assert "00D!second" not in info.value.message


def test_given_access_token_expired():
    http = FakeHTTP(response(401, [{"message": "Session expired or invalid " + TOKEN,
                                    "errorCode": "INVALID_SESSION_ID"}]))
    session = make_session(http)
    with pytest.raises(SalesforceError) as info:
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
    with pytest.raises(SalesforceError) as info:
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
    with pytest.raises(SalesforceError, match=r"HTTP 403 REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgLongTxn.*"
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
    with pytest.raises(WriteOutcomeUnknown, match="HTTP 502.*may or may not have been applied"):
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
    with pytest.raises(WriteOutcomeUnknown) as info:
        make_session(http, sleeps=sleeps, timeout=9).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert len(http.calls) == 1
    assert "no answer within 9 seconds" in info.value.msg
    assert "may or may not have been applied" in info.value.msg

    http = FakeHTTP(requests.exceptions.ConnectTimeout("never connected"), response(201, {}))
    make_session(http, sleeps=sleeps).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert len(http.calls) == 2

    http = FakeHTTP(requests.exceptions.SSLError("bad cert"))
    with pytest.raises(SalesforceError, match="give the CA bundle with ca_path"):
        make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert len(http.calls) == 1


def test_tls_and_timeout_options_reach_the_transport():
    http = FakeHTTP(response(200, {}), response(200, {}))
    make_session(http, validate_certs=False, timeout=5).request("GET", "/x")
    make_session(http, ca_path="/etc/ca.pem").request("GET", "/x")
    assert [(c[2]["verify"], c[2]["timeout"]) for c in http.calls] == [(False, 5), ("/etc/ca.pem", 30)]


def test_never_sends_the_token_to_another_host():
    session = make_session(FakeHTTP())
    with pytest.raises(SalesforceError, match="Refusing to send the session to evil.example"):
        session.request("GET", "https://evil.example/services/data/")


def test_default_transport_is_requests_session(monkeypatch):
    seen = []

    def fake_request(self, method, url, **kwargs):
        seen.append((type(self), method, url))
        return response(200, {"ok": True})

    monkeypatch.setattr(requests.Session, "request", fake_request)
    session = SalesforceSession(AccessTokenLogin(INSTANCE, TOKEN))
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
    assert parse_limit_info(header) == expected


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
# Errors in each of Salesforce's shapes
# ---------------------------------------------------------------------------------------------------------------

def test_rest_error_array_with_several_errors():
    body = [{"message": "first", "errorCode": "A"}, {"message": "second", "errorCode": "B", "fields": ["X"]}]
    assert describe_error(response(400, body)) == ("A", "first; second", ["X"])


def test_fault_parsed_by_local_name():
    # The concurrent fault fixture has no detail and an unusual prefix: the code comes from faultcode.
    assert describe_error(response(500, fixture("fault_concurrent.xml"))) == (
        "REQUEST_LIMIT_EXCEEDED",
        "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded.", [])
    assert describe_error(response(500, "<html>Oops</html>")) == (None, "Oops", [])


# ---------------------------------------------------------------------------------------------------------------
# Off the happy path (issue 9): redirects, secrets, hostile answers
# ---------------------------------------------------------------------------------------------------------------

def test_soap_call_and_rest_write_never_follow_a_redirect():
    client, http = metadata_client(redirect(307))
    with pytest.raises(SalesforceError, match="Not followed"):
        client.read("SamlSsoConfig", "authentik")  # the session id travels in the body
    assert hosts(http) == ["acme.my.salesforce.com"]
    http = FakeHTTP(redirect(308))
    with pytest.raises(SalesforceError, match="Not followed"):
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
    session = make_session(http, AccessTokenLogin("http://acme.example", TOKEN))
    with pytest.raises(SalesforceError, match=r"use https://acme.example as instance_url"):
        session.request("GET", "/services/data/")


def test_cleartext_warning_for_a_remote_plain_http_instance():
    session = make_session(FakeHTTP(), ClientCredentialsLogin("http://acme.example", "key", "secret"))
    assert session.warnings == ["instance_url uses plain http:// to acme.example: the client secret and access "
                                "token travel(s) unencrypted over the network. Use https://."]
    assert make_session(FakeHTTP(), AccessTokenLogin("http://127.0.0.1:8443", TOKEN)).warnings == []
    assert make_session(FakeHTTP()).warnings == []


def test_login_info_keeps_text_only():
    body = dict(json.loads(fixture("token_ok.json")), access_token=TOKEN, instance_url=["x"], id={"a": 1})
    session = make_session(FakeHTTP(response(200, body)), ClientCredentialsLogin(INSTANCE, "key", "secret"))
    assert session.access_token == TOKEN
    assert "instance_url" not in session.login_info and "id" not in session.login_info
    assert SalesforceClient(session).instance_url == INSTANCE


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "1e308", "soon", "Wed, 99 Foo 2026", "999999"])
def test_bad_retry_after_falls_back_to_the_default_backoff(sleeps, value):
    http = FakeHTTP(response(429, "slow down", {"Retry-After": value}), response(200, {"ok": 1}))
    make_session(http, sleeps=sleeps).request("GET", "/services/data/v63.0/x")
    assert sleeps == [0.75]  # attempt 1: 1 second with jitter 0.5


def test_lost_write_names_the_salesforce_error():
    body = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred"}]
    http = FakeHTTP(response(500, body))
    with pytest.raises(WriteOutcomeUnknown) as info:
        make_session(http).request("POST", "/services/data/v63.0/sobjects/X", json={})
    assert "may or may not have been applied" in info.value.msg and "UNKNOWN_EXCEPTION" in info.value.msg
    assert len(http.calls) == 1
