# -*- coding: utf-8 -*-
"""The authentik client: retries, pagination, exact lookups, answer shapes, token handling and error sentences,
over a scripted transport."""

from __future__ import annotations

import json

import pytest
import requests
from ansible_collections.sso.authentik.plugins.module_utils._authentik import (
    AuthentikClient,
    AuthentikError,
    WriteOutcomeUnknown,
    describe_error_body,
    parse_version,
)
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Ref
from ansible_collections.sso.authentik.plugins.module_utils._http import HttpError, Scrubber
from support.fakes import response


@pytest.fixture
def scripted(monkeypatch):
    """Answers requests from a list (a Response or an exception each) and records what was sent."""
    calls, answers, sleeps = [], [], []

    def fake_request(session, method, url, params=None, json=None, timeout=None, verify=None, **kwargs):
        calls.append((method, url.split("/api/v3")[1], dict(params or {}), json))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(requests.Session, "request", fake_request)
    client = AuthentikClient("https://ak.example/", "tok", retries=3, sleep=sleeps.append)
    return client, calls, answers, sleeps


def page(results, next_page=0):
    return response(200, {"pagination": {"next": next_page, "count": len(results)}, "results": results})


def test_bearer_token_and_base_url(scripted):
    client, calls, answers, _sleeps = scripted
    assert client.session.headers["Authorization"] == "Bearer tok"
    answers.append(response(200, {"version_current": "2025.12.4"}))
    assert client.version == (2025, 12, 4)
    assert client.version == (2025, 12, 4)  # read once per run
    assert calls == [("GET", "/admin/version/", {}, None)]


@pytest.mark.parametrize("version, warned", [("2025.8.3", True), ("2025.10.0", False), ("2026.8.5", False),
                                             ("2026.11.0-rc1", True)])
def test_a_version_outside_the_supported_range_is_warned_about(scripted, version, warned):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(200, {"version_current": version}))
    assert client.version
    expected = ["authentik %s is outside the supported range (2025.10 to 2026.8); fields that changed may be set "
                "wrongly or not at all." % version] if warned else []
    assert client.warnings == expected


def test_pagination_follows_page_numbers_until_zero(scripted):
    client, calls, answers, _sleeps = scripted
    answers.extend([page([{"name": "a"}], 2), page([{"name": "b"}], 3), page([{"name": "c"}])])
    assert [o["name"] for o in client.list("/core/groups/")] == ["a", "b", "c"]
    assert [c[2]["page"] for c in calls] == [1, 2, 3]
    assert all(c[2]["page_size"] == 100 for c in calls)


def test_find_is_exact_and_refuses_ambiguity(scripted):
    client, _calls, answers, _sleeps = scripted
    # A server that ignored the filter returns everything: only the exact match counts.
    answers.append(page([{"name": "a b"}, {"name": "a"}]))
    assert client.find("/x/", {"name": "a"}, "thing") == {"name": "a"}
    answers.append(page([{"name": "a", "pk": 1}, {"name": "a", "pk": 2}]))
    with pytest.raises(AuthentikError, match="2 thing objects match name='a'"):
        client.find("/x/", {"name": "a"}, "thing")


def test_resolve_caches_per_run(scripted):
    client, calls, answers, _sleeps = scripted
    ref = Ref("/flows/instances/", "flow", by="slug")
    answers.append(page([{"slug": "f", "pk": "uuid-f"}]))
    assert client.resolve(ref, "f") == "uuid-f"
    assert client.resolve(ref, "f") == "uuid-f"
    assert len(calls) == 1
    assert client.name_of(ref, "uuid-f") == "f"


def test_429_is_retried_after_retry_after(scripted):
    client, calls, answers, sleeps = scripted
    answers.extend([response(429, {"detail": "slow down"}, headers={"Retry-After": "2"}), response(200, {"ok": 1})])
    assert client.get("/x/") == {"ok": 1}
    assert sleeps == [2.0] and len(calls) == 2


def test_503_and_connection_errors_are_retried_with_a_bound(scripted):
    client, calls, answers, sleeps = scripted
    answers.extend([requests.exceptions.ConnectionError("reset")] * 4)
    with pytest.raises(AuthentikError, match="cannot reach authentik at https://ak.example after 4 attempt"):
        client.get("/x/")
    assert len(calls) == 4 and len(sleeps) == 3
    assert all(0 < s <= 8 for s in sleeps)


def test_post_is_not_repeated_blindly_when_its_outcome_is_unknown(scripted):
    client, calls, answers, _sleeps = scripted
    answers.append(response(502, text="bad gateway"))
    with pytest.raises(WriteOutcomeUnknown):
        client.post("/x/", {"name": "a"})
    assert len(calls) == 1
    answers.extend([response(503, {}), response(201, {"name": "a"})])
    assert client.post("/x/", {"name": "a"}) == {"name": "a"}  # 503: not processed, safe to repeat


def test_403_says_token_invalid_or_lacks_permission(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(403, {"detail": "Token invalid/expired"}))
    with pytest.raises(AuthentikError) as err:
        client.get("/core/users/me/")
    assert err.value.msg == ("GET /api/v3/core/users/me/: HTTP 403, the token is invalid or lacks permission "
                             "(Token invalid/expired)")
    assert err.value.status == 403


def test_400_lists_the_servers_field_messages(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(400, {"acs_url": ["Enter a valid URL."], "non_field_errors": ["Sign something."]}))
    with pytest.raises(AuthentikError, match=r"POST /api/v3/providers/saml/: HTTP 400: acs_url: Enter a valid URL.; "
                                             r"Sign something."):
        client.post("/providers/saml/", {})


def test_tls_failure_explains_ca_path(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(AuthentikError, match="give the CA bundle with ca_path"):
        client.get("/x/")


def test_not_json_is_explained(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(200, text="<html>login</html>"))
    with pytest.raises(AuthentikError, match="not JSON"):
        client.get("/x/")


@pytest.mark.parametrize("body, text", [
    ({"detail": "Not found."}, "Not found."),
    ({"name": ["exists"], "code": "unique"}, "name: exists"),
    (["Invalid XML Syntax"], "Invalid XML Syntax"),
    ({"field": "a string"}, "field: a string"),
    ("", ""),
])
def test_error_bodies(body, text):
    assert describe_error_body(body) == text


@pytest.mark.parametrize("text, version", [
    ("2025.12.4", (2025, 12, 4)), ("2026.11.0-rc1", (2026, 11, 0)), ("2026.8", (2026, 8)), ("garbage", ()),
])
def test_parse_version(text, version):
    assert parse_version(text) == version


def test_verify_uses_ca_path_only_when_validating():
    assert AuthentikClient("https://x", "t", validate_certs=True, ca_path="/ca.pem").http.verify == "/ca.pem"
    assert AuthentikClient("https://x", "t", validate_certs=False, ca_path="/ca.pem").http.verify is False
    assert AuthentikClient("https://x", "t").http.verify is True


@pytest.mark.parametrize("validate_certs", [True, False])
def test_verify_wins_over_requests_ca_bundle(monkeypatch, tmp_path, validate_certs):
    """requests lets REQUESTS_CA_BUNDLE replace a session's verify; the client's choice must reach the adapter."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not checked here")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    seen = []

    def send(adapter, request, **kwargs):
        seen.append(kwargs["verify"])
        raise requests.exceptions.ConnectTimeout("stop here")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    client = AuthentikClient.from_params({"url": "https://ak.example", "token": "t", "validate_certs": validate_certs,
                                          "ca_path": str(ca_file), "timeout": 5, "retries": 0})
    with pytest.raises(AuthentikError):
        client.get("/core/users/")
    assert seen == [str(ca_file) if validate_certs else False]


@pytest.mark.parametrize("params, message", [
    ({"url": "authentik.company"}, "url must be an absolute http(s) URL, got 'authentik.company'"),
    ({"url": "https://authentik .company"}, "url must be an absolute http(s) URL"),
    ({"url": "https://ak.example:port"}, "url must be an absolute http(s) URL"),
    ({"timeout": 0}, "timeout must be at least 1 second, got 0"),
    ({"ca_path": "/no/such/ca.pem"}, "ca_path /no/such/ca.pem cannot be read"),
])
def test_connection_options_refused_before_any_request(params, message):
    options = dict({"url": "https://ak.example", "token": "t", "validate_certs": True, "ca_path": None,
                    "timeout": 30, "retries": 4}, **params)
    with pytest.raises(EngineError) as error:
        AuthentikClient.from_params(options)
    assert message in error.value.msg


# -- the shared HTTP layer does the retrying ------------------------------------------------------------------------

def test_no_retry_loop_of_its_own():
    import ansible_collections.sso.authentik.plugins.module_utils._authentik as authentik

    for name in ("_backoff", "_refused", "_short", "TRANSIENT_STATUSES"):
        assert not hasattr(authentik, name)
    assert issubclass(AuthentikError, HttpError)
    from ansible_collections.sso.authentik.plugins.module_utils import _http

    assert WriteOutcomeUnknown is _http.WriteOutcomeUnknown


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "GET"])
@pytest.mark.parametrize("status", [502, 504])
def test_idempotent_calls_are_repeated_after_a_maybe_applied_status(scripted, method, status):
    client, calls, answers, sleeps = scripted
    answers.extend([response(status, text="gateway"), response(200, {"ok": 1})])
    assert client.request(method, "/x/1/", json={} if method == "PATCH" else None) == {"ok": 1}
    assert len(calls) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_post_after_a_maybe_applied_status_is_an_unknown_outcome(scripted, status):
    client, calls, answers, _sleeps = scripted
    answers.append(response(status, text="gateway"))
    with pytest.raises(WriteOutcomeUnknown, match="may or may not have been applied"):
        client.post("/x/", {"name": "a"})
    assert len(calls) == 1


def test_post_read_timeout_is_an_unknown_outcome_and_not_repeated(scripted):
    client, calls, answers, _sleeps = scripted
    answers.append(requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(WriteOutcomeUnknown):
        client.post("/x/", {"name": "a"})
    assert len(calls) == 1


def test_retry_after_garbage_falls_back_to_the_backoff(scripted):
    client, _calls, answers, sleeps = scripted
    answers.extend([response(429, {}, headers={"Retry-After": "nan"}), response(429, {}, headers={"Retry-After": "-5"}),
                    response(429, {}, headers={"Retry-After": "99999"}), response(200, {"ok": 1})])
    assert client.get("/x/") == {"ok": 1}
    assert len(sleeps) == 3 and all(0 < s <= 8 for s in sleeps)


def test_retries_exhausted_say_how_many(scripted):
    client, calls, answers, _sleeps = scripted
    answers.extend([response(503, {"detail": "busy"})] * 4)
    with pytest.raises(AuthentikError, match=r"HTTP 503: busy \(after 3 retries\)"):
        client.get("/x/")
    assert len(calls) == 4


def test_html_error_page_becomes_words(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(500, text="<html><style>p{}</style><body><h1>Oops</h1><p>broken</p></body></html>"))
    with pytest.raises(AuthentikError) as err:
        client.get("/x/")
    assert err.value.msg == "GET /api/v3/x/: HTTP 500: Oops broken"


def test_405_with_an_empty_answer(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(405, text=""))
    with pytest.raises(AuthentikError, match="HTTP 405 with an empty answer"):
        client.patch("/x/1/", {})


def test_redirect_of_a_write_is_not_followed(scripted):
    client, calls, answers, _sleeps = scripted
    answers.append(response(307, text="", headers={"Location": "https://evil.example/api/v3/x/"}))
    with pytest.raises(AuthentikError, match="redirect to https://evil.example/api/v3/x/. Not followed"):
        client.post("/x/", {"key_data": "secret"})
    assert len(calls) == 1


# -- the token -------------------------------------------------------------------------------------------------

def test_token_with_a_trailing_newline_works_and_is_scrubbed(scripted):
    scrubber = Scrubber()
    client = AuthentikClient("https://ak.example", "s3cr3t-token-value\n", scrubber=scrubber)
    assert client.session.headers["Authorization"] == "Bearer s3cr3t-token-value"
    assert "s3cr3t-token-value" not in scrubber.text("the token s3cr3t-token-value\n was refused")
    assert "s3cr3t" not in scrubber.text(repr("s3cr3t-token-value\n"))


@pytest.mark.parametrize("token, words", [
    ("abc def-secret", "contains whitespace inside it"),
    ("Bearer abcdefsecret", "contains whitespace inside it"),
    ("t\u00f6ken-secret", "non-ASCII or control"),
    ("   ", "token is empty"),
])
def test_bad_tokens_are_refused_without_echoing_them(token, words):
    with pytest.raises(EngineError) as err:
        AuthentikClient("https://ak.example", token)
    assert words in err.value.msg
    assert "-secret" not in err.value.msg and "abcdef" not in err.value.msg
    assert not token.strip() or token.strip() not in err.value.msg


def test_plain_http_to_another_host_warns_loopback_does_not():
    assert "travel(s) unencrypted" in AuthentikClient("http://ak.example", "tok").warnings[0]
    assert AuthentikClient("http://127.0.0.1:9000", "tok").warnings == []
    assert AuthentikClient("https://ak.example", "tok").warnings == []


@pytest.mark.parametrize("url, words", [
    ("https://ak.example/?next=/x", "without a query or fragment"),
    ("https://ak.example/#frag", "without a query or fragment"),
    ("https://admin:hunter22@ak.example", "must not hold a user name or password"),
])
def test_url_that_would_change_the_target_is_refused(url, words):
    with pytest.raises(EngineError) as err:
        AuthentikClient(url, "tok")
    assert words in err.value.msg
    assert "hunter22" not in err.value.msg


# -- answers of the wrong shape: a sentence, never a traceback -------------------------------------------------

@pytest.mark.parametrize("body, words", [
    ([{"name": "a"}], "the answer is a list where an object was expected"),
    ({"pagination": {"next": 0}}, "the answer has no 'results'"),
    ({"results": {"name": "a"}}, "'results' is not a list of objects"),
    ({"results": ["a"]}, "'results' is not a list of objects"),
    ({"results": [], "pagination": {"next": "2"}}, "pagination.next is '2'"),
    ({"results": [], "pagination": {"next": 1}}, "pagination.next is 1 after page 1"),
    ("just text", "the answer is a string"),
])
def test_list_answers_of_the_wrong_shape(scripted, body, words):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(200, text=json.dumps(body)))
    with pytest.raises(AuthentikError) as err:
        client.list("/core/groups/")
    assert words in err.value.msg


@pytest.mark.parametrize("body", [{"build_hash": ""}, ["2025.12.4"], {"version_current": None}])
def test_version_answer_of_the_wrong_shape(scripted, body):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(200, body))
    with pytest.raises(AuthentikError, match="/admin/version/"):
        assert client.version


def test_resolve_answer_without_its_id(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(page([{"slug": "f"}]))
    with pytest.raises(AuthentikError, match="the answer has no 'pk'"):
        client.resolve(Ref("/flows/instances/", "flow", by="slug"), "f")


def test_post_answer_that_is_not_an_object(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(response(201, ["created"]))
    with pytest.raises(AuthentikError, match="POST /api/v3/x/: the answer is a list"):
        client.post("/x/", {})


# -- identifiers never change the target -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["other/../victim", "a?b", "a#b", "a%2Fb", "..", "a b", "a\nb", ""])
def test_item_lookup_refuses_what_would_change_the_path(scripted, value):
    client, calls, _answers, _sleeps = scripted
    with pytest.raises(EngineError, match="in a URL path"):
        client.resolve(Ref("/core/applications/", "application", by="slug", item=True), value)
    assert calls == []
