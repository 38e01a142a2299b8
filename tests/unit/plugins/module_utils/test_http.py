# -*- coding: utf-8 -*-
"""The HTTP layer both transports share: Retry-After, backoff, lost answers, the redirect rule, the scrubber."""

from __future__ import annotations

import email.utils
import socket

import pytest
import requests
import urllib3
from ansible_collections.sso.authentik.plugins.module_utils import _http
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError
from ansible_collections.sso.authentik.plugins.module_utils._http import (
    MASK,
    RETRY_AFTER_MAX,
    Backoff,
    Http,
    HttpError,
    Scrubber,
    WriteOutcomeUnknown,
    clean_token,
    cleartext_warning,
    describe_exception,
    error_page_words,
    reached_server,
    retry_after_seconds,
)
from support.fakes import FakeHTTP, response

NOW = 1_700_000_000.0


# -- Retry-After ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    ("5", 5.0), (" 2 ", 2.0), ("0", 0.0), ("1.5", 1.5), (str(RETRY_AFTER_MAX), RETRY_AFTER_MAX),
    (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
    (email.utils.formatdate(NOW - 3600, usegmt=True), 0.0),  # a date in the past: go now
])
def test_retry_after_believable(value, seconds):
    assert retry_after_seconds(value, now=NOW) == pytest.approx(seconds, abs=1)


@pytest.mark.parametrize("value", [
    None, "", "-1", "-0.5", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "99999", str(RETRY_AFTER_MAX + 1),
    "soon", "5 seconds", "Mon, 99 Foo 2024 25:61:61 GMT", "\x00", email.utils.formatdate(NOW + 7200, usegmt=True),
    "Fri, 31 Dec 9999 23:59:59 GMT",
])
def test_retry_after_not_believable_falls_back(value):
    assert retry_after_seconds(value, now=NOW) is None


def test_backoff_grows_and_is_capped():
    backoff = Backoff(0.5, 8.0, sleep=lambda s: None, rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.delay(200) == 8.0  # no overflow for a large attempt number
    low = Backoff(0.5, 8.0, rand=lambda: 0.0)
    assert low.delay(5) == 4.0  # jitter: between half and all of the delay


def test_backoff_waits_for_a_believable_retry_after_only():
    slept = []
    backoff = Backoff(0.5, 8.0, sleep=slept.append, rand=lambda: 1.0)
    backoff.wait(1, "3")
    backoff.wait(1, "nan")
    backoff.wait(2, "-4")
    backoff.wait(3, "3600")
    assert slept == [3.0, 0.5, 1.0, 2.0]


# -- did it reach the server ------------------------------------------------------------------------------------

def _connection_error(reason):
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def test_refused_and_unresolved_never_reached_the_server():
    refused = _connection_error(urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"))
    unknown = _connection_error(urllib3.exceptions.NameResolutionError("ak.example", None, socket.gaierror(-2, "x")))
    assert reached_server(refused) is False
    assert reached_server(unknown) is False
    assert reached_server(requests.exceptions.ConnectTimeout("connect timeout")) is False
    assert reached_server(requests.exceptions.SSLError("handshake")) is False


def test_a_real_refused_connection_did_not_reach_the_server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.get("http://127.0.0.1:%d/" % port, timeout=5)
    assert reached_server(info.value) is False
    assert describe_exception(info.value, 5) == "connection refused"


def test_read_timeout_and_reset_may_have_reached_the_server():
    reset = _connection_error(urllib3.exceptions.ProtocolError("Connection aborted.",
                                                               ConnectionResetError(104, "Connection reset by peer")))
    assert reached_server(requests.exceptions.ReadTimeout("read timed out")) is True
    assert reached_server(reset) is True
    assert reached_server(requests.exceptions.ConnectionError("Connection reset by peer")) is True
    assert describe_exception(requests.exceptions.ReadTimeout("x"), 7) == "no answer within 7 seconds"
    assert describe_exception(requests.exceptions.ConnectTimeout("x"), 7) == "the connection timed out after 7 seconds"


# -- the request loop, over a scripted session (support.fakes) ----------------------------------------------

def http(*answers, retries=3):
    slept = []
    session = FakeHTTP(*answers, headers={"Authorization": "Bearer tok"})
    return Http("authentik", "url", retries=retries, session=session,
                backoff=Backoff(0.5, 8.0, sleep=slept.append, rand=lambda: 1.0)), session, slept


def test_429_waits_for_retry_after_then_succeeds():
    client, session, slept = http(response(429, headers={"Retry-After": "2"}), response(200))
    assert client.send("GET", "https://ak.example/x", "GET /x").status_code == 200
    assert slept == [2.0] and len(session.calls) == 2


def test_post_with_a_lost_answer_is_not_repeated():
    client, session, _slept = http(response(502))
    with pytest.raises(WriteOutcomeUnknown, match="HTTP 502 from https://ak.example; the change may or may not"):
        client.send("POST", "https://ak.example/x", "POST /x")
    assert len(session.calls) == 1


def test_post_503_is_repeated_it_was_not_processed():
    client, session, _slept = http(response(503), response(201))
    assert client.send("POST", "https://ak.example/x", "POST /x").status_code == 201
    assert len(session.calls) == 2


def test_connection_errors_are_retried_with_a_bound():
    refused = _connection_error(urllib3.exceptions.NewConnectionError(None, "Connection refused"))
    client, session, slept = http(refused, refused, refused, refused)
    with pytest.raises(HttpError, match="cannot reach authentik at https://ak.example after 4 attempt"):
        client.send("POST", "https://ak.example/x", "POST /x")  # refused: never reached, safe to repeat
    assert len(session.calls) == 4 and slept == [0.5, 1.0, 2.0]


def test_no_redirect_is_followed_by_itself():
    client, session, _slept = http(response(200))
    client.send("GET", "https://ak.example/x", "GET /x")
    assert session.calls[0][2]["allow_redirects"] is False


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_write_redirect_to_another_host_is_refused_and_nothing_is_sent_there(method, status):
    client, session, _slept = http(response(status, headers={"Location": "https://other.example:8443/steal?x=1"}))
    with pytest.raises(HttpError) as info:
        client.send(method, "https://ak.example/api/v3/x/", "%s /x" % method, json={"key_data": "PRIVATE"})
    assert "a redirect to https://other.example:8443/steal?x=1. Not followed" in info.value.msg
    assert "set url to it" in info.value.msg
    assert [call[1] for call in session.calls] == ["https://ak.example/api/v3/x/"]


def test_write_redirect_to_the_same_host_is_refused_too():
    client, session, _slept = http(response(307, headers={"Location": "/elsewhere/"}))
    with pytest.raises(HttpError, match="redirect to https://ak.example/elsewhere/"):
        client.send("POST", "https://ak.example/x/", "POST /x")
    assert len(session.calls) == 1


def test_get_redirect_to_another_host_is_followed_without_credentials():
    client, session, _slept = http(response(302, headers={"Location": "https://cdn.example/file"}), response(200))
    client.send("GET", "https://ak.example/x", "GET /x", headers={"Accept": "application/json"}, params={"a": 1})
    assert session.calls[1][1] == "https://cdn.example/file"
    headers = session.calls[1][2]["headers"]
    assert headers["Authorization"] is None and headers["Cookie"] is None  # None drops the session's header
    assert headers["Accept"] == "application/json"
    assert session.calls[1][2]["params"] is None


def test_get_redirect_on_the_same_host_keeps_credentials():
    client, session, _slept = http(response(301, headers={"Location": "/y"}), response(200))
    client.send("GET", "https://ak.example/x", "GET /x")
    assert session.calls[1][1] == "https://ak.example/y"
    assert "Authorization" not in (session.calls[1][2].get("headers") or {})


def test_http_to_https_redirect_says_use_https():
    client, session, _slept = http(response(301, headers={"Location": "https://ak.example/x"}))
    with pytest.raises(HttpError, match="redirects plain http to https://ak.example/x; use https://ak.example as url"):
        client.send("GET", "http://ak.example/x", "GET /x")
    assert len(session.calls) == 1


def test_redirect_to_another_scheme_is_refused():
    client, _session, _slept = http(response(302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(HttpError, match="Not followed"):
        client.send("GET", "https://ak.example/x", "GET /x")


def test_redirect_loop_is_bounded():
    client, session, _slept = http(*[response(302, headers={"Location": "/loop"})] * 10)
    with pytest.raises(HttpError, match="more than 5 redirects"):
        client.send("GET", "https://ak.example/x", "GET /x")
    assert len(session.calls) == 6


def test_redirect_location_credentials_are_scrubbed():
    client, _session, _slept = http(response(307, headers={"Location": "https://user:hunter22@other.example/"}))
    with pytest.raises(HttpError) as info:
        client.send("POST", "https://ak.example/x", "POST /x")
    assert "hunter22" not in info.value.msg


# -- the scrubber --------------------------------------------------------------------------------------------------

SECRET = "s3cr3t/tok+en=="


@pytest.mark.parametrize("text", [
    "raw " + SECRET, "stripped " + SECRET.strip(), "repr %r" % (SECRET + "\n"), "quoted '%s'" % SECRET,
    "url-encoded s3cr3t%2Ftok%2Ben%3D%3D", "plus-encoded s3cr3t%2Ftok%2Ben%3D%3D",
    "header Bearer " + SECRET, "escaped " + (SECRET + "\n").encode("unicode_escape").decode(),
])
def test_scrubber_masks_every_form_of_a_secret(text):
    scrubbed = Scrubber([SECRET + "\n"]).text(text)
    assert "s3cr3t" not in scrubbed and MASK in scrubbed


def test_scrubber_masks_url_credentials_and_bearer_tokens_it_was_not_told():
    scrubber = Scrubber()
    assert scrubber.text("GET http://admin:pa55word@ak.example/x failed") == \
        "GET http://%s@ak.example/x failed" % MASK
    assert scrubber.text("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer %s" % MASK
    assert scrubber.text("Basic dXNlcjpwYXNzd29yZA==") == "Basic %s" % MASK


def test_scrubber_masks_a_multi_line_secret_line_by_line_and_walks_values():
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    scrubber = Scrubber([key])
    shown = scrubber.value({"msg": ["line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"], "n": 1, "k": ("x", key)})
    assert "MIIEvQ" not in str(shown) and shown["n"] == 1


def test_scrubber_ignores_short_and_empty_values():
    assert Scrubber(["", None, "ab"]).text("ab cd") == "ab cd"


# -- token shape, cleartext, error pages ---------------------------------------------------------------------------

def test_clean_token():
    assert clean_token("abc.def-123\n", "token") == "abc.def-123"
    assert clean_token(None, "token") is None
    for bad, words in (("ab cd", "whitespace inside"), ("ab\tcd", "whitespace inside"), ("\u00e9t\u00e9", "non-ASCII"),
                       ("ab\x00cd", "non-ASCII or control"), ("\n", "is empty")):
        with pytest.raises(EngineError) as info:
            clean_token(bad, "token")
        assert words in info.value.msg
        assert not bad.strip() or bad.strip() not in info.value.msg


@pytest.mark.parametrize("url, warns", [
    ("http://ak.example", True), ("http://10.0.0.5:9000", True), ("https://ak.example", False),
    ("http://127.0.0.1:9000", False), ("http://localhost", False), ("http://[::1]:80", False),
    ("http://app.localhost", False),
])
def test_cleartext_warning(url, warns):
    warning = cleartext_warning(url, "url", ["token"])
    assert bool(warning) is warns
    if warns:
        assert "unencrypted" in warning and "Use https://" in warning


def test_error_page_words():
    page = "<html><head><script>var x = '<b>';</script><style>b{}</style></head><body><h1>502  Bad\nGateway</h1>" \
           "</body></html>"
    assert error_page_words(page) == "502 Bad Gateway"
    assert error_page_words("x" * 400).endswith("...") and len(error_page_words("x" * 400)) == 303
    assert error_page_words(None) == ""
    assert error_page_words("a\x00b") == "a b"


def test_connection_problem_moved_here():
    assert _http.connection_problem({"timeout": 0}) == "timeout must be at least 1 second, got 0."
    assert _http.connection_problem({"retries": 21}).startswith("retries must be between 0 and 20")
    assert _http.connection_problem({"timeout": 30, "retries": 4}) is None
