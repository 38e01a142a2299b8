"""The read-back check against a sandbox that drops unknown fields silently, as real authentik servers do.

A module that sends a field the server does not know (here: saml_provider believing a 2025.12 server is 2026.8,
so that it sends issuer_override) gets a 201 and must still fail, because the read-back shows nothing was stored.
"""
from __future__ import annotations


import pytest
import requests
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikClient
from ansible_collections.sso.authentik.plugins.modules import saml_provider
from unit_support import run_module as run

TOKEN = "dropped-fields-token"
TIMEOUT = 30


@pytest.fixture
def dropping_sandbox(sandbox_server):
    url = sandbox_server("authentik", profile="2025.12", token=TOKEN)
    assert requests.post(url + "/_sandbox/reset", timeout=TIMEOUT).status_code == 204
    answer = requests.post(url + "/_sandbox/config", json={"drop_unknown_fields": True}, timeout=TIMEOUT)
    assert answer.json()["drop_unknown_fields"] is True
    yield url
    requests.post(url + "/_sandbox/reset", timeout=TIMEOUT)


def test_a_dropped_field_is_reported_by_the_read_back(monkeypatch, capsys, dropping_sandbox):
    monkeypatch.setattr(AuthentikClient, "version", property(lambda self: (2026, 8, 5)))
    args = {"url": dropping_sandbox, "token": TOKEN, "name": "dropped", "issuer": "https://idp.example/sf",
            "authorization_flow": "default-provider-authorization-implicit-consent",
            "acs_url": "https://company.my.salesforce.com?so=00D000000000001"}
    result = run(monkeypatch, capsys, saml_provider, args)
    assert result.get("failed"), result
    assert result["msg"].startswith("The server accepted issuer but did not store it (sent 'https://idp.example/sf'")
    sent = [e for e in requests.get(dropping_sandbox + "/_sandbox/requests", timeout=TIMEOUT).json()
            if e["method"] == "POST" and e["path"].endswith("/providers/saml/")]
    assert len(sent) == 1 and "issuer_override" in sent[0]["body"]  # accepted (201), not refused


def test_the_same_write_with_the_right_name_is_stored(monkeypatch, capsys, dropping_sandbox):
    args = {"url": dropping_sandbox, "token": TOKEN, "name": "kept", "issuer": "https://idp.example/sf",
            "authorization_flow": "default-provider-authorization-implicit-consent",
            "acs_url": "https://company.my.salesforce.com?so=00D000000000001"}
    result = run(monkeypatch, capsys, saml_provider, args)
    assert result["changed"] and result["provider"]["issuer"] == "https://idp.example/sf", result
