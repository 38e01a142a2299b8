# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the test_salesforce_*.py files share: recorded answers (tests/unit/fixtures/salesforce), a scripted
transport, and sessions and clients built on it. The fixtures rsa_key, rsa_pem and sleeps are in conftest.py."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import requests
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import AccessTokenLogin, JwtBearerLogin
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_metadata import MetadataClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession

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


def make_session(http, login=None, sleeps=None, **kwargs):
    session = SalesforceSession(login or AccessTokenLogin(INSTANCE, TOKEN), http=http, **kwargs)
    session._sleep = (sleeps if sleeps is not None else []).append
    session._random = lambda: 0.5
    return session


def jwt_login(rsa_pem, **kwargs):
    return JwtBearerLogin(INSTANCE, "3MVG9consumerkey", "admin@acme.example", private_key=rsa_pem,
                          clock=lambda: 1_800_000_000.4, **kwargs)


def token_response(token=TOKEN):
    body = json.loads(fixture("token_ok.json"))
    body["access_token"] = token
    return response(200, body)


def metadata_client(*answers, login=None, sleeps=None):
    http = FakeHTTP(*answers)
    return MetadataClient(make_session(http, login=login, sleeps=sleeps, api_version="63.0")), http


EVIL = "https://evil.example/steal"


def redirect(status=307, location=EVIL):
    return response(status, "<html><body>moved</body></html>", {"Location": location})


def hosts(http):
    return [urlsplit(url).hostname for _method, url, _kwargs in http.calls]
