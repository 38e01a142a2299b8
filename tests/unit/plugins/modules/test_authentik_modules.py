# -*- coding: utf-8 -*-
"""The authentik modules run whole (arguments in, JSON out) over a scripted transport: what they refuse before any
request, what they send, and that no output holds a secret or a traceback."""

from __future__ import annotations

import json

import pytest
import requests
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible_collections.sso.authentik.plugins.modules import (
    application,
    application_binding,
    certificate_keypair,
    certificate_keypair_info,
    oauth_source,
    saml_property_mapping,
    saml_provider,
    saml_provider_info,
    scim_property_mapping,
    scim_provider,
)
from support.certificates import self_signed
from support.fakes import response

TOKEN = "ak-T0ken-0123456789abcdef"
CONN = {"url": "https://ak.example", "token": TOKEN, "retries": 0}


def page(*results):
    return response(200, {"pagination": {"next": 0, "count": len(results)}, "results": list(results)})


class Server:
    """Answers the expected requests in order: (method, path under /api/v3, Response)."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []

    def request(self, session, method, url, params=None, json=None, headers=None, **kwargs):
        path = url.split("/api/v3", 1)[1]
        self.calls.append({"method": method, "path": path, "params": params, "json": json,
                           "auth": session.headers.get("Authorization")})
        assert self.script, "unexpected request %s %s" % (method, path)
        expected_method, expected_path, answer = self.script.pop(0)
        assert (method, path) == (expected_method, expected_path)
        return answer

    def writes(self):
        return [call for call in self.calls if call["method"] != "GET"]


def run(monkeypatch, capsys, module, args, script=(), check_mode=False):
    server = Server(script)

    def request(session, *args, **kwargs):
        return server.request(session, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    payload = dict(CONN, **args)
    if check_mode:
        payload["_ansible_check_mode"] = True
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    getattr(ansible_warnings, "_global_warnings", {}).clear()  # warnings are collected per process
    with pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    assert TOKEN not in out and TOKEN[3:-3] not in out
    assert "Traceback" not in out
    result = json.loads(out)
    assert "exception" not in result, result.get("exception")
    return result, server


def failed(monkeypatch, capsys, module, args, words, script=()):
    result, server = run(monkeypatch, capsys, module, args, script)
    assert result.get("failed"), result
    assert words in result["msg"]
    return result, server


# -- identifiers never change the target ------------------------------------------------------------------------

def test_traversal_in_an_oauth_source_slug_deletes_nothing(monkeypatch, capsys):
    result, server = failed(monkeypatch, capsys, oauth_source, {"slug": "does-not-exist/../victim", "state": "absent"},
                            "slug must be a slug")
    assert server.calls == []


def test_traversal_in_a_binding_application_grants_nothing(monkeypatch, capsys):
    result, server = failed(monkeypatch, capsys, application_binding,
                            {"application": "other/../victim-app", "group": "Sales"}, "application must be a slug")
    assert server.calls == []


SLUG_OPTIONS = [
    (application, {"slug": "{}", "name": "A"}, "slug"),
    (oauth_source, {"slug": "{}"}, "slug"),
    (application_binding, {"application": "{}", "user": "u"}, "application"),
    (saml_provider, {"name": "P", "authorization_flow": "{}"}, "authorization_flow"),
    (saml_provider, {"name": "P", "invalidation_flow": "{}"}, "invalidation_flow"),
    (oauth_source, {"slug": "s", "enrollment_flow": "{}"}, "enrollment_flow"),
    (scim_provider, {"name": "S", "oauth_source": "{}"}, "oauth_source"),
]


@pytest.mark.parametrize("bad", ["a/b", "a?b", "a#b", "a%2e", "..", "a b", " a", "a\tb", "a\x00b", "a\x1bb", "\u00e9"])
@pytest.mark.parametrize("module, args, option", SLUG_OPTIONS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_slug_options_refuse_path_characters_before_any_request(monkeypatch, capsys, module, args, option, bad):
    args = {key: value.replace("{}", bad) if isinstance(value, str) else value for key, value in args.items()}
    result, server = run(monkeypatch, capsys, module, args)
    assert result.get("failed") and option in result["msg"]
    assert server.calls == []


NAME_OPTIONS = [
    (saml_property_mapping, "name"), (scim_property_mapping, "name"), (saml_provider, "name"), (scim_provider, "name"),
    (certificate_keypair, "name"), (certificate_keypair_info, "name"), (saml_provider_info, "name"),
]


@pytest.mark.parametrize("bad", ["trailing ", " leading", "nul\x00", "bell\x07", "line\nbreak", ""])
@pytest.mark.parametrize("module, option", NAME_OPTIONS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_names_with_control_characters_or_outer_whitespace_are_refused(monkeypatch, capsys, module, option, bad):
    result, server = run(monkeypatch, capsys, module, {option: bad})
    assert result.get("failed") and option in result["msg"]
    assert server.calls == []


def test_an_id_the_server_answers_is_checked_before_it_goes_into_a_path(monkeypatch, capsys):
    provider = {"pk": "7/../../core/users/1", "name": "P", "assigned_application_slug": "app"}
    result, server = failed(monkeypatch, capsys, saml_provider_info, {"name": "P"}, "in a URL path",
                            [("GET", "/providers/saml/", page(provider))])
    assert len(server.calls) == 1


# -- URL options --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module, args, option", [
    (application, {"slug": "a", "launch_url": "javascript:alert(1)"}, "launch_url"),
    (application, {"slug": "a", "launch_url": "company.my.salesforce.com"}, "launch_url"),
    (saml_provider, {"name": "P", "acs_url": "ftp://x.example/"}, "acs_url"),
    (saml_provider, {"name": "P", "sls_url": "x.example/logout"}, "sls_url"),
    (scim_provider, {"name": "S", "scim_url": "scim"}, "scim_url"),
    (oauth_source, {"slug": "s", "profile_url": "/userinfo"}, "profile_url"),
    (oauth_source, {"slug": "s", "oidc_jwks_url": "https://x.example/jwks bad"}, "oidc_jwks_url"),
    (oauth_source, {"slug": "s", "oidc_well_known_url": "file:///etc/passwd"}, "oidc_well_known_url"),
])
def test_url_options_must_be_http_urls(monkeypatch, capsys, module, args, option):
    result, server = failed(monkeypatch, capsys, module, args, "%s must be an absolute http(s) URL" % option)
    assert server.calls == []


def test_empty_acs_url_on_an_existing_provider_is_refused_before_the_patch(monkeypatch, capsys):
    result, server = failed(monkeypatch, capsys, saml_provider, {"name": "P", "acs_url": ""},
                            "acs_url must not be empty")
    assert server.calls == []


def test_hidden_launch_url_is_allowed(monkeypatch, capsys):
    app = {"pk": "u1", "slug": "a", "name": "A", "meta_launch_url": "blank://blank"}
    result, server = run(monkeypatch, capsys, application, {"slug": "a", "launch_url": "blank://blank"},
                         [("GET", "/core/applications/a/", response(200, app))])
    assert result["changed"] is False and server.writes() == []


# -- the token ----------------------------------------------------------------------------------------------------

def test_token_with_a_trailing_newline_is_sent_stripped_and_never_shown(monkeypatch, capsys):
    result, server = failed(monkeypatch, capsys, application, {"slug": "a", "token": TOKEN + "\n"},
                            "the token is invalid or lacks permission",
                            [("GET", "/core/applications/a/", response(403, {"detail": "Token invalid/expired"}))])
    assert server.calls[0]["auth"] == "Bearer " + TOKEN


@pytest.mark.parametrize("token, words", [
    (TOKEN[:8] + " " + TOKEN[8:], "token contains whitespace inside it"),
    ("Bearer " + TOKEN, "token contains whitespace inside it"),
    (TOKEN + "\u00e4", "token contains characters that cannot be sent"),
])
def test_token_of_the_wrong_shape_is_refused_cleanly(monkeypatch, capsys, token, words):
    result, server = failed(monkeypatch, capsys, application, {"slug": "a", "token": token}, words)
    assert server.calls == []


def test_plain_http_to_another_host_warns(monkeypatch, capsys):
    app = {"pk": "u1", "slug": "a", "name": "A"}
    result, _server = run(monkeypatch, capsys, application, {"slug": "a", "url": "http://ak.example"},
                          [("GET", "/core/applications/a/", response(200, app))])
    assert "the token travel(s) unencrypted" in json.dumps(result["warnings"])


# -- answers of the wrong shape -----------------------------------------------------------------------------------

@pytest.mark.parametrize("module, args, path, answer, words", [
    (application, {"slug": "a"}, "/core/applications/a/", response(200, ["a"]), "the answer is a list"),
    (saml_property_mapping, {"name": "M"}, "/propertymappings/provider/saml/", response(200, {"count": 1}),
     "the answer has no 'results'"),
    (saml_property_mapping, {"name": "M"}, "/propertymappings/provider/saml/", response(200, text="null"),
     "where an object was expected"),
    (certificate_keypair_info, {"name": "C"}, "/crypto/certificatekeypairs/", response(200, {"results": [1]}),
     "'results' is not a list of objects"),
    (saml_provider_info, {"name": "P"}, "/providers/saml/", response(200, text="<html>login</html>"), "not JSON"),
])
def test_wrong_shaped_answers_give_a_sentence(monkeypatch, capsys, module, args, path, answer, words):
    failed(monkeypatch, capsys, module, args, words, [("GET", path, answer)])


def test_view_certificate_without_data(monkeypatch, capsys):
    keypair = {"pk": "5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10", "name": "C"}
    failed(monkeypatch, capsys, certificate_keypair_info, {"name": "C"}, "the answer has no 'data'",
           [("GET", "/crypto/certificatekeypairs/", page(keypair)),
            ("GET", "/crypto/certificatekeypairs/%s/view_certificate/" % keypair["pk"], response(200, {}))])


# -- an _info module changes nothing ------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{"dest": "out.pem"}, {"mode": "0600"}, {"owner": "root"}])
def test_certificate_info_takes_no_file_options(monkeypatch, capsys, tmp_path, options):
    monkeypatch.chdir(tmp_path)
    result, server = failed(monkeypatch, capsys, certificate_keypair_info, dict(options, name="C"),
                            "Unsupported parameters")
    assert server.calls == [] and list(tmp_path.iterdir()) == []


def test_certificate_info_never_returns_a_private_key(monkeypatch, capsys):
    certificate, key = self_signed("C")
    keypair = {"pk": "5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10", "name": "C", "private_key_available": True}
    find = ("GET", "/crypto/certificatekeypairs/", page(keypair))
    view = ("GET", "/crypto/certificatekeypairs/%s/view_certificate/" % keypair["pk"])
    result, server = run(monkeypatch, capsys, certificate_keypair_info, {"name": "C"},
                         [find, view + (response(200, {"data": certificate}),)])
    assert not result["changed"] and result["certificate"]["pem"] == certificate
    assert "PRIVATE KEY" not in json.dumps(result)
    result, server = failed(monkeypatch, capsys, certificate_keypair_info, {"name": "C"}, "holds a private key",
                            [find, view + (response(200, {"data": certificate + key}),)])
    body = key.splitlines()[1]
    assert body not in json.dumps(result) and server.writes() == []


# -- values the server normalises converge ------------------------------------------------------------------------

PROVIDER = {"pk": 7, "name": "P", "issuer": "https://ak.example", "audience": "https://sf.example",
            "acs_url": "https://sf.example?so=00D", "invalidation_flow": "f1"}
FLOW = ("GET", "/flows/instances/", page({"pk": "f1", "slug": "default-provider-invalidation-flow"}))
VERSION = ("GET", "/admin/version/", response(200, {"version_current": "2025.12.4"}))


def test_issuer_with_outer_whitespace_compares_as_authentik_stores_it(monkeypatch, capsys):
    result, server = run(monkeypatch, capsys, saml_provider,
                         {"name": "P", "issuer": "https://ak.example ", "audience": "\thttps://sf.example\n"},
                         [("GET", "/providers/saml/", page(PROVIDER)), FLOW, VERSION])
    assert result["changed"] is False and server.writes() == []


def test_a_changed_issuer_is_sent_trimmed(monkeypatch, capsys):
    stored = dict(PROVIDER, issuer="https://idp.example")
    result, server = run(monkeypatch, capsys, saml_provider, {"name": "P", "issuer": " https://idp.example "},
                         [("GET", "/providers/saml/", page(PROVIDER)), FLOW, VERSION,
                          ("PATCH", "/providers/saml/7/", response(200, stored)),
                          ("GET", "/providers/saml/7/", response(200, stored))])
    assert result["changed"] is True
    assert server.writes()[0]["json"] == {"issuer": "https://idp.example"}


def test_a_value_stored_differently_is_not_called_unsupported(monkeypatch, capsys):
    stored = dict(PROVIDER, audience="https://sf.example/")  # a server that normalised it its own way
    result, _server = failed(monkeypatch, capsys, saml_provider, {"name": "P", "audience": "https://other.example"},
                             "The server stored audience differently: 'https://sf.example/'",
                             [("GET", "/providers/saml/", page(PROVIDER)), FLOW, VERSION,
                              ("PATCH", "/providers/saml/7/", response(200, stored)),
                              ("GET", "/providers/saml/7/", response(200, stored))])
    assert "may not support it" not in result["msg"]


def test_a_dropped_value_is_called_unsupported(monkeypatch, capsys):
    failed(monkeypatch, capsys, saml_provider, {"name": "P", "audience": "https://other.example"},
           "The server accepted audience but did not store it",
           [("GET", "/providers/saml/", page(PROVIDER)), FLOW, VERSION,
            ("PATCH", "/providers/saml/7/", response(200, PROVIDER)),
            ("GET", "/providers/saml/7/", response(200, PROVIDER))])


# -- PEM inputs ---------------------------------------------------------------------------------------------------

CERT, KEY = self_signed()
KEY_LINE = KEY.splitlines()[2]


@pytest.mark.parametrize("args, words", [
    ({"certificate": CERT + KEY, "private_key": KEY}, "certificate holds a private key"),
    ({"certificate": KEY + CERT, "private_key": KEY}, "certificate holds a private key"),
    ({"certificate": KEY, "private_key": CERT}, "certificate and private_key are swapped"),
    ({"certificate": KEY}, "certificate holds a private key"),
    ({"certificate": CERT, "private_key": KEY + CERT}, "private_key holds 2 PEM blocks"),
    ({"certificate": CERT, "private_key": KEY.replace(KEY_LINE, KEY_LINE[::-1])}, "private_key is not a valid"),
])
def test_pem_inputs_are_parsed_and_never_echoed(monkeypatch, capsys, args, words):
    result, server = failed(monkeypatch, capsys, certificate_keypair, dict({"name": "Imported"}, **args), words)
    assert server.calls == []
    assert KEY_LINE not in json.dumps(result) and KEY_LINE[::-1] not in json.dumps(result)


def test_subject_alt_names_cannot_smuggle_a_comma(monkeypatch, capsys):
    result, server = failed(monkeypatch, capsys, certificate_keypair,
                            {"name": "Gen", "subject_alt_names": ["a.example,b.example"]},
                            "subject_alt_names must hold DNS names")
    assert server.calls == []


# -- two generations at once --------------------------------------------------------------------------------------

PAIR = {"pk": "5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10", "name": "ak-signing", "cert_subject": "CN=ak.example",
        "key_type": "rsa", "fingerprint_sha256": "aa:bb", "private_key_available": True}
OURS = dict(PAIR, pk="0e2b7a49-0a3c-4a43-8a9b-1c9d9f5e2a10", name="ak.example")
GENERATE = {"name": "ak-signing", "common_name": "ak.example"}
LIST = "/crypto/certificatekeypairs/"


def test_generation_race_lost_at_generate_converges_on_the_winner(monkeypatch, capsys):
    taken = response(400, {"common_name": ["certificate-key pair with this name already exists."]})
    result, server = run(monkeypatch, capsys, certificate_keypair, GENERATE, [
        ("GET", LIST, page()),  # not there yet
        ("POST", LIST + "generate/", taken),  # the other run generated it, named after the common name
        ("GET", LIST, page()),  # ... and is renaming it
        ("GET", LIST, page(PAIR)),  # renamed
        ("GET", LIST, page(PAIR)),
    ])
    assert result["changed"] is False and result["keypair"]["pk"] == PAIR["pk"]
    assert [call["method"] for call in server.writes()] == ["POST"]
    assert "was generated by another run at the same time" in json.dumps(result["warnings"])


def test_generation_race_lost_at_rename_removes_its_own_pair(monkeypatch, capsys):
    taken = response(400, {"name": ["certificate-key pair with this name already exists."]})
    result, server = run(monkeypatch, capsys, certificate_keypair, GENERATE, [
        ("GET", LIST, page()),
        ("POST", LIST + "generate/", response(200, OURS)),
        ("PATCH", LIST + OURS["pk"] + "/", taken),  # the other run named its pair first
        ("DELETE", LIST + OURS["pk"] + "/", response(204)),
        ("GET", LIST, page(PAIR)),
    ])
    assert result["changed"] is False and result["keypair"]["pk"] == PAIR["pk"]
    assert [(c["method"], c["path"]) for c in server.writes()] == [
        ("POST", LIST + "generate/"), ("PATCH", LIST + OURS["pk"] + "/"), ("DELETE", LIST + OURS["pk"] + "/")]


def test_generation_without_a_race_renames(monkeypatch, capsys):
    result, server = run(monkeypatch, capsys, certificate_keypair, GENERATE, [
        ("GET", LIST, page()),
        ("POST", LIST + "generate/", response(200, OURS)),
        ("PATCH", LIST + OURS["pk"] + "/", response(200, dict(OURS, name="ak-signing"))),
        ("GET", LIST + OURS["pk"] + "/", response(200, dict(OURS, name="ak-signing"))),
    ])
    assert result["changed"] is True and result["keypair"]["name"] == "ak-signing"


def test_common_name_taken_by_another_pair_for_good_is_explained(monkeypatch, capsys):
    taken = response(400, {"common_name": ["This field must be unique."]})
    monkeypatch.setattr(certificate_keypair, "RACE_WAIT", (0.01,))
    script = [("GET", LIST, page()), ("POST", LIST + "generate/", taken), ("GET", LIST, page()), ("GET", LIST, page())]
    result, server = failed(monkeypatch, capsys, certificate_keypair, GENERATE,
                            "authentik names a generated pair after its common name", script)
    assert [call["method"] for call in server.writes()] == ["POST"]
    assert "give another common_name" in result["msg"]


def test_options_refused_by_ansible_itself_fail_cleanly(monkeypatch, capsys):
    failed(monkeypatch, capsys, application_binding, {"application": "a", "group": "g", "user": "u"},
           "mutually exclusive")
    failed(monkeypatch, capsys, certificate_keypair_info, {}, "missing required arguments: name")
