# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the test_salesforce_*.py files share: recorded answers (tests/unit/fixtures/salesforce), and sessions and
clients built on the scripted transport of support.fakes (response and FakeHTTP, imported from here too). The
fixtures rsa_key, rsa_pem and sleeps are in conftest.py."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import AccessTokenLogin, JwtBearerLogin
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_metadata import MetadataClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession
from support.fakes import FakeHTTP, response

__all__ = ["FakeHTTP", "response", "fixture", "make_session", "jwt_login", "token_response", "metadata_client",
           "redirect", "hosts", "INSTANCE", "TOKEN", "XSI", "MET", "EVIL"]

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "salesforce")
INSTANCE = "https://acme.my.salesforce.com"
TOKEN = "00Df40000003eOA!AQ4AQFake.Token.One"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MET = "{http://soap.sforce.com/2006/04/metadata}"


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


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
