# -*- coding: utf-8 -*-
"""The authentik client: retries, pagination, exact lookups and error sentences, over a scripted transport."""

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


class Response:
    def __init__(self, status, body=None, headers=None, text=None):
        self.status_code = status
        self.headers = headers or {}
        self.text = text if text is not None else ("" if body is None else json.dumps(body))
        self.content = self.text.encode()

    def json(self):
        return json.loads(self.text)


@pytest.fixture
def scripted(monkeypatch):
    """Answers requests from a list (a Response or an exception each) and records what was sent."""
    calls, answers, sleeps = [], [], []

    def fake_request(session, method, url, params=None, json=None, timeout=None, verify=None):
        calls.append((method, url.split("/api/v3")[1], dict(params or {}), json))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(requests.Session, "request", fake_request)
    client = AuthentikClient("https://ak.example/", "tok", retries=3, sleep=sleeps.append)
    return client, calls, answers, sleeps


def page(results, next_page=0):
    return Response(200, {"pagination": {"next": next_page, "count": len(results)}, "results": results})


def test_bearer_token_and_base_url(scripted):
    client, calls, answers, _sleeps = scripted
    assert client.session.headers["Authorization"] == "Bearer tok"
    answers.append(Response(200, {"version_current": "2025.12.4"}))
    assert client.version == (2025, 12, 4)
    assert client.version == (2025, 12, 4)  # read once per run
    assert calls == [("GET", "/admin/version/", {}, None)]


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
    answers.extend([Response(429, {"detail": "slow down"}, {"Retry-After": "2"}), Response(200, {"ok": 1})])
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
    answers.append(Response(502, text="bad gateway"))
    with pytest.raises(WriteOutcomeUnknown):
        client.post("/x/", {"name": "a"})
    assert len(calls) == 1
    answers.extend([Response(503, {}), Response(201, {"name": "a"})])
    assert client.post("/x/", {"name": "a"}) == {"name": "a"}  # 503: not processed, safe to repeat


def test_403_says_token_invalid_or_lacks_permission(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(Response(403, {"detail": "Token invalid/expired"}))
    with pytest.raises(AuthentikError) as err:
        client.get("/core/users/me/")
    assert err.value.msg == ("GET /api/v3/core/users/me/: HTTP 403, the token is invalid or lacks permission "
                             "(Token invalid/expired)")
    assert err.value.status == 403


def test_400_lists_the_servers_field_messages(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(Response(400, {"acs_url": ["Enter a valid URL."], "non_field_errors": ["Sign something."]}))
    with pytest.raises(AuthentikError, match=r"POST /api/v3/providers/saml/: HTTP 400: acs_url: Enter a valid URL.; "
                                             r"Sign something."):
        client.post("/providers/saml/", {})


def test_tls_failure_explains_ca_path(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(AuthentikError, match="Give the CA bundle with ca_path"):
        client.get("/x/")


def test_not_json_is_explained(scripted):
    client, _calls, answers, _sleeps = scripted
    answers.append(Response(200, text="<html>login</html>"))
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
    assert AuthentikClient("https://x", "t", validate_certs=True, ca_path="/ca.pem").session.verify == "/ca.pem"
    assert AuthentikClient("https://x", "t", validate_certs=False, ca_path="/ca.pem").session.verify is False
    assert AuthentikClient("https://x", "t").session.verify is True


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
