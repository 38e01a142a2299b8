"""A module that reads the server's version warns when the server is outside the supported range."""
from __future__ import annotations

import json

import pytest
import requests
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikClient
from ansible_collections.sso.authentik.plugins.modules import saml_provider
from unit_support import run_module as run

TOKEN = "supported-range-token"
TIMEOUT = 30


@pytest.mark.parametrize("reported, warned", [("2025.8.2", True), ("2025.12.4", False)])
def test_a_server_outside_the_range_gets_a_warning_naming_it(monkeypatch, capsys, sandbox_server, reported, warned):
    url = sandbox_server("authentik", profile="2025.12", token=TOKEN)
    assert requests.post(url + "/_sandbox/reset", timeout=TIMEOUT).status_code == 204
    get_object = AuthentikClient.get_object

    def reporting(self, path, *args, **kwargs):
        answer = get_object(self, path, *args, **kwargs)
        return dict(answer, version_current=reported) if path == "/admin/version/" else answer

    monkeypatch.setattr(AuthentikClient, "get_object", reporting)
    args = {"url": url, "token": TOKEN, "name": "ranged", "issuer": "https://idp.example/sf",
            "authorization_flow": "default-provider-authorization-implicit-consent",
            "acs_url": "https://company.my.salesforce.com?so=00D000000000001"}
    result = run(monkeypatch, capsys, saml_provider, args)
    assert result["changed"], result
    expected = "authentik %s is outside the supported range (2025.10 to 2026.8)" % reported
    assert (expected in json.dumps(result.get("warnings", []))) == warned, result.get("warnings")
    requests.post(url + "/_sandbox/reset", timeout=TIMEOUT)
