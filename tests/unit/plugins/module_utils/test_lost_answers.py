# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixes found by tests/reliability, at the client level: a create whose answer was lost is looked up before it is
sent again (Salesforce), a given access token expiring mid-run is replaced by a login when one is possible, and
HTML error pages become words (authentik). Scripted transports (support.fakes), no server; rsa_pem is in
conftest.py."""

from __future__ import annotations


import pytest
import requests
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikClient, AuthentikError
from ansible_collections.sso.authentik.plugins.module_utils._http import WriteOutcomeUnknown
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import (
    AccessTokenLogin, JwtBearerLogin, select_login)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_metadata import MetadataClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession
from support.fakes import FakeHTTP, response
from urllib3.exceptions import MaxRetryError, NewConnectionError

INSTANCE = "https://acme.my.salesforce.com"
TOKEN = "00Df40000003eOA!AQ4AQGivenToken"
SOAP = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-'
        'instance"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>')
CREATED = SOAP % ("<createMetadataResponse><result><fullName>authentik</fullName><success>true</success></result>"
                  "</createMetadataResponse>")
FOUND = SOAP % ('<readMetadataResponse><result><records xsi:type="SamlSsoConfig"><fullName>authentik</fullName>'
                "<issuer>https://ak.example</issuer></records></result></readMetadataResponse>")
MISSING = SOAP % '<readMetadataResponse><result><records xsi:nil="true"/></result></readMetadataResponse>'
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def operations(http):
    return [kwargs.get("headers", {}).get("SOAPAction") or url.rsplit("/", 1)[-1] for _m, url, kwargs in http.calls]


def metadata(*answers, login=None):
    http = FakeHTTP(*answers)
    session = SalesforceSession(login or AccessTokenLogin(INSTANCE, TOKEN), api_version="63.0", http=http)
    session._sleep = lambda seconds: None
    return MetadataClient(session), http


DROPPED = requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('no answer'))")


@pytest.mark.parametrize("lost", [DROPPED, requests.exceptions.ReadTimeout("read timed out"),
                                  response(502, "<html>Bad Gateway</html>", content_type="text/html")])
def test_create_with_a_lost_answer_that_was_applied_is_not_sent_again(lost):
    client, http = metadata(lost, response(200, FOUND))
    results = client.create("SamlSsoConfig", {"fullName": "authentik", "issuer": "https://ak.example"})
    assert operations(http) == ["createMetadata", "readMetadata"]
    assert results == [{"fullName": "authentik", "success": True, "errors": []}]


def test_create_with_a_lost_answer_that_was_not_applied_is_sent_again():
    client, http = metadata(DROPPED, response(200, MISSING), response(200, CREATED))
    client.create("SamlSsoConfig", {"fullName": "authentik", "issuer": "https://ak.example"})
    assert operations(http) == ["createMetadata", "readMetadata", "createMetadata"]


def test_lost_answer_of_an_idempotent_call_is_retried_not_looked_up():
    client, http = metadata(DROPPED, response(200, FOUND))
    assert client.read("SamlSsoConfig", "authentik")["issuer"] == "https://ak.example"
    assert operations(http) == ["readMetadata", "readMetadata"]


def test_a_refused_connection_is_not_an_unknown_outcome():
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    refused = requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason=reason))
    session = SalesforceSession(AccessTokenLogin(INSTANCE, TOKEN), http=FakeHTTP(*[refused] * 5), retries=0)
    with pytest.raises(SalesforceError) as info:
        session.request("POST", "/services/data/v63.0/x", idempotent=False)
    assert not isinstance(info.value, WriteOutcomeUnknown)


def test_access_token_with_a_login_option_falls_back_to_that_login(rsa_pem):
    params = {"instance_url": INSTANCE, "access_token": TOKEN, "client_id": "3MVG9key", "username": "a@b.c",
              "private_key": rsa_pem}
    login = select_login(params)
    assert isinstance(login, AccessTokenLogin) and isinstance(login.fallback, JwtBearerLogin)
    assert login.can_relogin
    alone = select_login({"instance_url": INSTANCE, "access_token": TOKEN, "client_id": "3MVG9key"})
    assert alone.fallback is None and not alone.can_relogin


def test_given_token_expiring_mid_run_is_replaced_by_a_login(rsa_pem):
    fresh = {"access_token": "00Df40000003eOA!AQ4AQFresh", "instance_url": INSTANCE,
             "id": "https://login.salesforce.com/id/00Df40000003eOAEAY/005000000000001AAA"}
    http = FakeHTTP(response(401, INVALID_SESSION), response(200, fresh), response(200, {"ok": True}))
    login = select_login({"instance_url": INSTANCE, "access_token": TOKEN, "client_id": "3MVG9key",
                          "username": "a@b.c", "private_key": rsa_pem})
    session = SalesforceSession(login, http=http)
    assert session.request("GET", "/services/data/v63.0/limits").json() == {"ok": True}
    assert [url.rsplit("/", 1)[-1] for _m, url, _k in http.calls] == ["limits", "token", "limits"]
    assert http.calls[0][2]["headers"]["Authorization"] == "Bearer " + TOKEN
    assert http.calls[2][2]["headers"]["Authorization"] == "Bearer " + fresh["access_token"]
    assert session.logins == 2


def test_authentik_html_error_page_becomes_words(monkeypatch):
    class Page:
        status_code = 500
        headers = {"Content-Type": "text/html"}
        text = "<html><body><h1>500 Internal Server Error</h1></body></html>"
        content = text.encode()

        def json(self):
            raise ValueError("not JSON")

    monkeypatch.setattr(requests.Session, "request", lambda *args, **kwargs: Page())
    client = AuthentikClient("https://ak.example", "tok", retries=0, sleep=lambda seconds: None)
    with pytest.raises(AuthentikError) as info:
        client.post("/core/applications/", {"slug": "x"})
    assert info.value.msg == "POST /api/v3/core/applications/: HTTP 500: 500 Internal Server Error"
