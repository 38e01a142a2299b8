"""Fakes for the unit tests: HTTP answers, a scripted transport, a fake AnsibleModule.

    response(200, {"a": 1})                       # a real requests.Response: JSON body, Content-Type set
    response(502, text="<html>Bad Gateway</html>", content_type="text/html")
    http = FakeHTTP(answer, error, callable)      # answers requests in order; http.calls records them
    FakeModule(check_mode=True)                   # what the engine reads of an AnsibleModule
"""

from __future__ import annotations

import json

import requests

REASONS = {200: "OK", 401: "Unauthorized", 500: "Server Error"}


def response(status=200, body=None, headers=None, text=None, content_type=None):
    """A real requests.Response, as a transport returns it.

    body: a dict or list (sent as JSON, with its Content-Type), or str / bytes as they are; text: the body as
    text (the same as a str body). headers and content_type are added last."""
    resp = requests.Response()
    resp.status_code = status
    if text is not None:
        body = text
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        resp.headers["Content-Type"] = "application/json"
    if body is None:
        body = b""
    resp._content = body.encode() if isinstance(body, str) else body  # pylint: disable=protected-access
    if content_type:
        resp.headers["Content-Type"] = content_type
    resp.headers.update(headers or {})
    resp.reason = REASONS.get(status, "")
    resp.encoding = "utf-8"
    return resp


class FakeHTTP:
    """Answers requests from a queue: a response, an exception to raise, or a callable(method, url, kwargs).

    Stands in for a requests.Session (its request() method); every call is kept in `calls` as
    (method, url, kwargs). A request with no answer left fails the test."""

    def __init__(self, *answers, headers=None):
        self.answers = list(answers)
        self.calls = []
        self.headers = dict(headers or {})

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        if not self.answers:
            raise AssertionError("unexpected request %s %s (no answer left)" % (method, url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(method, url, kwargs)
        return answer


class FakeModule:
    """The part of an AnsibleModule the engine reads."""

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
