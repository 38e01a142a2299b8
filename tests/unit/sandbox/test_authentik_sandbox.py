"""Tests of the authentik API sandbox (tests/sandbox/authentik/server.py): the traps it must reproduce.

Each profile runs in a subprocess with the interpreter named by AUTHENTIK_SANDBOX_PYTHON_<line> (2025_12, 2026_2,
2026_5, 2026_8: a virtualenv with that authentik-client release and cryptography, which `make units` sets); a
profile whose variable is not set fails. The servers run with --check-responses, so every response of every test
is also checked against the client's response model. They are started through tests/support/sandboxes.py.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import pytest
from support import SANDBOX_SRC, certificates, sandboxes, waits

SERVER = str(SANDBOX_SRC / "authentik" / "server.py")
# Each profile and the authentik-client release its virtualenv holds.
VERSIONS = {"2025.12": "2025.12.4", "2026.2": "2026.2.7", "2026.5": "2026.5.8", "2026.8": "2026.8.5"}
PROFILES = tuple(VERSIONS)
TOKEN = "test-token"
# Client timeouts: bounds against a hang, far above what a busy 2-core machine takes.
TIMEOUT = 30


class Sandbox:
    """A running sandbox server and a tiny HTTP client for it."""

    def __init__(self, server, profile):
        self.server = server
        self.profile = profile
        self.python = sandboxes.authentik_python(profile)
        self.port = urlsplit(server.url).port

    def request(self, method, path, body=None, params=None, token=TOKEN, raw=False):
        """(status, headers, parsed JSON or text); path is relative to /api/v3 unless it starts with /_."""
        url = path if path.startswith("/_") or path.startswith("/application") else "/api/v3" + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, url, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read().decode()
        finally:
            conn.close()
        if not raw and data and response.getheader("Content-Type", "").startswith("application/json"):
            data = json.loads(data)
        return response.status, response, data

    def call(self, method, path, body=None, params=None, token=TOKEN, raw=False):
        """(status, parsed JSON or text)."""
        reply = self.request(method, path, body=body, params=params, token=token, raw=raw)
        return reply[0], reply[2]

    def ok(self, method, path, body=None, status=None, **params):
        code, data = self.call(method, path, body=body, params=params)
        expected = status or {"POST": 201, "DELETE": 204}.get(method, 200)
        assert code == expected, (method, path, code, data)
        return data

    def flow(self, slug):
        return self.ok("GET", "/flows/instances/%s/" % slug)["pk"]

    def saml_provider(self, name="sf", **extra):
        body = {"name": name, "authorization_flow": self.flow("default-provider-authorization-implicit-consent"),
                "invalidation_flow": self.flow("default-provider-invalidation-flow"),
                "acs_url": "https://company.my.salesforce.com?so=00D000000000001"}
        body.update(extra)
        return self.ok("POST", "/providers/saml/", body)

    def self_signed(self):
        return self.ok("GET", "/crypto/certificatekeypairs/", name="authentik Self-signed Certificate")["results"][0]


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Start every profile at once (they boot in parallel), stop them at the end."""
    sandboxes.require_pythons(PROFILES)
    directory = tmp_path_factory.mktemp("authentik-sandboxes")
    started = sandboxes.start_or_fail(*[
        sandboxes.authentik_server(directory, profile, token=TOKEN, extra=["--check-responses"])
        for profile in PROFILES])
    try:
        yield {server.name.removeprefix("authentik-"): Sandbox(server, server.name.removeprefix("authentik-"))
               for server in started}
    finally:
        sandboxes.stop(*started)


@pytest.fixture(params=sorted(PROFILES))
def sb(request, servers):
    sandbox = servers[request.param]
    assert sandbox.request("POST", "/_sandbox/reset")[0] == 204
    return sandbox


def since(sb, line):
    """True when the sandbox's release line is `line` ("2026.5") or newer."""
    return tuple(map(int, sb.profile.split("."))) >= tuple(map(int, line.split(".")))


# --- basics --------------------------------------------------------------------------------------

def test_version_and_me(sb):
    version = sb.ok("GET", "/admin/version/")
    assert version["version_current"] == VERSIONS[sb.profile]
    me = sb.ok("GET", "/core/users/me/")["user"]
    assert (me["pk"], me["username"], me["is_superuser"]) == (1, "akadmin", True)
    users = sb.ok("GET", "/core/users/", username="jdoe")["results"]
    assert [(u["name"], u["email"], u["is_superuser"]) for u in users] == [("Jane Doe", "jane.doe@example.com", False)]
    assert sb.ok("GET", "/core/groups/", name="authentik Admins")["pagination"]["count"] == 1


def test_token_errors_are_403(sb):
    status, body = sb.call("GET", "/admin/version/", token=None)
    assert (status, body) == (403, {"detail": "Authentication credentials were not provided."})
    status, body = sb.call("GET", "/admin/version/", token="wrong")
    assert (status, body) == (403, {"detail": "Token invalid/expired"})


def test_default_objects_are_seeded(sb):
    flows = {f["slug"]: f["designation"] for f in sb.ok("GET", "/flows/instances/", page_size=100)["results"]}
    assert flows["default-provider-authorization-implicit-consent"] == "authorization"
    assert flows["default-provider-invalidation-flow"] == "invalidation"
    assert flows["default-source-authentication"] == "authentication"
    invalidation = sb.ok("GET", "/flows/instances/", designation="invalidation")["results"]
    assert {f["slug"] for f in invalidation} == {"default-provider-invalidation-flow", "default-invalidation-flow"}
    email = sb.ok("GET", "/propertymappings/provider/saml/", managed="goauthentik.io/providers/saml/email")
    assert [m["name"] for m in email["results"]] == ["authentik default SAML Mapping: Email"]
    both = sb.ok("GET", "/propertymappings/provider/saml/",
                 managed=["goauthentik.io/providers/saml/email", "goauthentik.io/providers/saml/upn"])
    assert both["pagination"]["count"] == 2
    scim = sb.ok("GET", "/propertymappings/provider/scim/", managed__isnull="false")["results"]
    assert {m["managed"] for m in scim} == {"goauthentik.io/providers/scim/user", "goauthentik.io/providers/scim/group"}
    kp = sb.self_signed()
    assert kp["managed"] is None and kp["private_key_available"] and kp["key_type"] == "rsa"
    assert [p["name"] for p in sb.ok("GET", "/policies/all/", search="allow")["results"]] == ["sandbox-allow-all"]


def test_pagination(sb):
    for i in range(25):
        sb.ok("POST", "/propertymappings/provider/scim/", {"name": "m%02d" % i, "expression": "return {}"})
    first = sb.ok("GET", "/propertymappings/provider/scim/")
    assert first["pagination"] == {"next": 2, "previous": 0, "count": 27, "current": 1, "total_pages": 2,
                                   "start_index": 1, "end_index": 20}
    assert len(first["results"]) == 20
    second = sb.ok("GET", "/propertymappings/provider/scim/", page=2)
    assert (second["pagination"]["next"], second["pagination"]["previous"], len(second["results"])) == (0, 1, 7)
    assert sb.request("GET", "/propertymappings/provider/scim/", params={"page": 3})[2] == {"detail": "Invalid page."}
    capped = sb.ok("GET", "/propertymappings/all/", page_size=500)
    assert capped["pagination"]["total_pages"] == 1 and len(capped["results"]) == 34  # 7 SAML + 27 SCIM


def test_unknown_fields_and_filters_are_errors(sb):
    status, body = sb.call("POST", "/propertymappings/provider/saml/", {
        "name": "x", "saml_name": "User.Email", "expression": "return 1", "bogus": 1})
    assert status == 400
    assert body == {"bogus": ["sandbox: field not in the %s contract (the real server would silently ignore it)"
                              % VERSIONS[sb.profile]]}
    assert sb.ok("GET", "/propertymappings/all/", name="x")["pagination"]["count"] == 0
    status, body = sb.call("GET", "/providers/saml/", params={"nmae": "x"})
    assert status == 400 and "unknown filter 'nmae'" in body["detail"]
    # /policies/all/ has no name filter in the API: a lookup by name must use search and match itself
    assert sb.request("GET", "/policies/all/", params={"name": "sandbox-allow-all"})[0] == 400


def test_contract_type_errors(sb):
    status, body = sb.call("POST", "/propertymappings/provider/saml/", {"name": "x", "expression": "return 1"})
    assert (status, body) == (400, {"saml_name": ["This field is required."]})
    status, body = sb.call("POST", "/propertymappings/provider/saml/", {
        "name": "x", "saml_name": 5, "expression": "return 1", "friendly_name": None})
    assert (status, body) == (400, {"saml_name": ["Not a valid string."]})
    status, body = sb.call("POST", "/propertymappings/provider/saml/", {
        "name": "x", "saml_name": "a", "expression": "return ("})
    assert status == 400 and body["expression"][0].startswith("Expression Syntax Error")
    status, body = sb.call("POST", "/providers/scim/",
                           {"name": "s", "url": "u", "compatibility_mode": "salesforce"})
    assert (status, body) == (400, {"compatibility_mode": ['"salesforce" is not a valid choice.']})


def test_unique_names(sb):
    sb.ok("POST", "/propertymappings/provider/saml/", {"name": "dup", "saml_name": "a", "expression": "return 1"})
    status, body = sb.call("POST", "/propertymappings/provider/scim/", {"name": "dup", "expression": "return {}"})
    assert (status, body) == (400, {"name": ["property mapping with this name already exists."]})
    sb.saml_provider(name="shared")
    status, body = sb.call("POST", "/providers/scim/", {"name": "shared", "url": "https://scim"})
    assert (status, body) == (400, {"name": ["provider with this name already exists."]})
    status, body = sb.call("POST", "/crypto/certificatekeypairs/generate/", {
        "common_name": "authentik Self-signed Certificate", "validity_days": 30})
    assert status == 400


def test_users_and_groups(sb):
    user = sb.ok("POST", "/core/users/", {"username": "jsmith", "name": "John Smith", "email": "j@example.com"})
    assert user["pk"] == 3 and user["is_superuser"] is False and user["groups"] == []
    status, body = sb.call("POST", "/core/users/", {"username": "jsmith", "name": "Again"})
    assert (status, body) == (400, {"username": ["A user with that username already exists."]})
    group = sb.ok("POST", "/core/groups/", {"name": "sf", "users": [user["pk"]]})
    assert group["users"] == [user["pk"]]
    assert sb.ok("GET", "/core/users/%s/" % user["pk"])["groups"] == [group["pk"]]
    assert [u["username"] for u in sb.ok("GET", "/core/users/", groups_by_name="sf")["results"]] == ["jsmith"]
    assert sb.ok("PATCH", "/core/groups/%s/" % group["pk"], {"users": []})["users"] == []
    sb.ok("DELETE", "/core/groups/%s/" % group["pk"])
    status, body = sb.call("GET", "/core/groups/%s/" % group["pk"])
    assert (status, body) == (404, {"detail": "No Group matches the given query."})


def test_every_list_answers_in_the_contract_shape(sb):
    # the servers run with --check-responses: a list whose items do not match the client's model answers 500
    provider = sb.saml_provider(signing_kp=sb.self_signed()["pk"], sign_assertion=True)
    scim = sb.ok("POST", "/providers/scim/", {"name": "scim", "url": "https://scim"})
    app = sb.ok("POST", "/core/applications/", {"name": "app", "slug": "app", "provider": provider["pk"],
                                                "backchannel_providers": [scim["pk"]]})
    sb.ok("POST", "/core/applications/", {"name": "bare", "slug": "bare"})
    policy = sb.ok("GET", "/policies/all/")["results"][0]
    sb.ok("POST", "/policies/bindings/", {"target": app["pk"], "order": 1, "policy": policy["pk"]})
    sb.ok("POST", "/policies/bindings/", {"target": app["pk"], "order": 2, "user": 1})
    sb.ok("POST", "/sources/oauth/", OIDC)
    for path in ("/core/users/", "/core/groups/", "/flows/instances/", "/propertymappings/all/", "/providers/all/",
                 "/propertymappings/provider/saml/", "/propertymappings/provider/scim/", "/providers/saml/",
                 "/providers/scim/", "/core/applications/", "/policies/bindings/", "/policies/all/",
                 "/sources/oauth/", "/crypto/certificatekeypairs/"):
        assert sb.ok("GET", path)["pagination"]["count"] >= 1, path
    assert sb.ok("GET", "/core/groups/", include_children="true", include_parents="true")["results"]
    assert sb.ok("GET", "/core/applications/", superuser_full_list="true")["pagination"]["count"] == 2
    status, body = sb.call("GET", "/core/applications/nope/")
    assert (status, body) == (404, {"detail": "No Application matches the given query."})
    # /providers/all/ has no name filter: search, then match exactly
    assert [p["name"] for p in sb.ok("GET", "/providers/all/", search="scim")["results"]] == ["scim"]
    assert sb.ok("GET", "/providers/all/", backchannel="true")["results"][0]["pk"] == scim["pk"]
    sb.ok("DELETE", "/providers/all/%s/" % scim["pk"])
    assert sb.ok("GET", "/core/applications/app/")["backchannel_providers"] == []


def test_deleting_a_mapping_in_use_drops_it_from_the_provider(sb):
    mapping = sb.ok("POST", "/propertymappings/provider/saml/",
                    {"name": "m", "saml_name": "a", "expression": "return 1"})
    provider = sb.saml_provider(property_mappings=[mapping["pk"]], name_id_mapping=mapping["pk"])
    sb.ok("DELETE", "/propertymappings/provider/saml/%s/" % mapping["pk"])
    provider = sb.ok("GET", "/providers/saml/%s/" % provider["pk"])
    assert provider["property_mappings"] == [] and provider["name_id_mapping"] is None


# --- SAML provider ---------------------------------------------------------------------------------

def test_saml_provider_required_fields_and_acs_url(sb):
    status, body = sb.call("POST", "/providers/saml/", {
        "name": "p", "authorization_flow": sb.flow("default-provider-authorization-implicit-consent"),
        "acs_url": "not a url"})
    assert status == 400 and body == {"invalidation_flow": ["This field is required."]}
    status, body = sb.call("POST", "/providers/saml/", {
        "name": "p", "authorization_flow": sb.flow("default-provider-authorization-implicit-consent"),
        "invalidation_flow": sb.flow("default-provider-invalidation-flow"), "acs_url": "not a url"})
    assert (status, body) == (400, {"acs_url": ["Enter a valid URL."]})


def test_issuer_versus_issuer_override(sb):
    # Renamed in 2026.5, as that line's client has it (the reference's 2026.8 was a guess from a later client).
    if since(sb, "2026.5"):
        provider = sb.saml_provider()
        assert provider["issuer_override"] == "" and "issuer" not in provider
        assert provider["url_issuer"] == "authentik" and provider["url_sso_post"] == "-"
        status, body = sb.call("PATCH", "/providers/saml/%s/" % provider["pk"], {"issuer": "https://idp"})
        assert status == 400 and "%s contract" % VERSIONS[sb.profile] in body["issuer"][0]
        sb.ok("POST", "/core/applications/", {"name": "Salesforce", "slug": "salesforce", "provider": provider["pk"]})
        provider = sb.ok("GET", "/providers/saml/%s/" % provider["pk"])
        base = "http://127.0.0.1:%s/application/saml/salesforce/" % sb.port
        assert provider["url_issuer"] == base + "metadata/"
        provider = sb.ok("PATCH", "/providers/saml/%s/" % provider["pk"], {"issuer_override": "https://idp"})
        assert provider["url_issuer"] == "https://idp"
    else:
        provider = sb.saml_provider()
        assert provider["issuer"] == "authentik" and "issuer_override" not in provider and "url_issuer" not in provider
        status, body = sb.call("PATCH", "/providers/saml/%s/" % provider["pk"], {"issuer_override": "x"})
        assert status == 400 and "%s contract" % VERSIONS[sb.profile] in body["issuer_override"][0]
        assert sb.ok("PATCH", "/providers/saml/%s/" % provider["pk"], {"issuer": "https://idp"})["issuer"] == "https://idp"


def test_signing_keypair_rule(sb):
    kp = sb.self_signed()["pk"]
    message = ("With a signing keypair selected, at least one of 'Sign assertion' and 'Sign Response' must be "
               "selected.")
    status, body = sb.call("POST", "/providers/saml/", {
        "name": "p", "authorization_flow": sb.flow("default-provider-authorization-implicit-consent"),
        "invalidation_flow": sb.flow("default-provider-invalidation-flow"), "acs_url": "https://sp/acs",
        "signing_kp": kp})
    assert (status, body) == (400, {"non_field_errors": [message]})
    provider = sb.saml_provider(signing_kp=kp, sign_assertion=True)
    assert provider["signing_kp"] == kp and provider["sign_assertion"] is True
    # PATCHing signing_kp alone is refused even though sign_assertion is already true
    status, body = sb.call("PATCH", "/providers/saml/%s/" % provider["pk"], {"signing_kp": kp})
    assert (status, body) == (400, {"non_field_errors": [message]})
    sb.ok("PATCH", "/providers/saml/%s/" % provider["pk"], {"signing_kp": kp, "sign_response": True})


def test_release_line_boundaries(sb):
    """What changes between the profiles besides the issuer, the metadata answer and the SCIM fields."""
    provider = sb.saml_provider()
    assert ("sign_logout_response" in provider) == since(sb, "2026.5")
    app = sb.ok("POST", "/core/applications/", {"name": "Salesforce", "slug": "salesforce"})
    assert ("meta_hide" in app, "pbm_uuid" in app) == (since(sb, "2026.5"), since(sb, "2026.8"))
    group = sb.ok("GET", "/core/groups/", name="authentik Admins")["results"][0]
    binding = sb.ok("POST", "/policies/bindings/", {"target": app["pk"], "order": 0, "group": group["pk"]})
    assert ("expires" in binding) == since(sb, "2026.8")
    assert ("users" in sb.ok("GET", "/core/users/me/")) == since(sb, "2026.8")
    # include_details=false hid the fingerprints until 2026.2, which stores them and dropped the parameter
    status, body = sb.call("GET", "/crypto/certificatekeypairs/", params={"include_details": "false"})
    if since(sb, "2026.2"):
        assert status == 400 and "include_details" in body["detail"]
    else:
        assert status == 200 and body["results"][0]["fingerprint_sha256"] is None
    # an Ed25519 key can be generated from 2026.2 on, and is refused for SAML signing there
    status, body = sb.call("POST", "/crypto/certificatekeypairs/generate/",
                           {"common_name": "ed", "validity_days": 30, "alg": "ed25519"})
    if not since(sb, "2026.2"):
        assert status == 400 and "alg" in body
        return
    assert status == 200 and body["key_type"] == "ed25519"
    status, body = sb.call("PATCH", "/providers/saml/%s/" % provider["pk"],
                           {"signing_kp": body["pk"], "sign_assertion": True})
    assert (status, body) == (400, {"signing_kp": ["Only RSA, EC, and DSA key types are supported for SAML signing."]})


def test_saml_urls_metadata_and_preview(sb):
    kp = sb.self_signed()
    email = sb.ok("GET", "/propertymappings/provider/saml/", managed="goauthentik.io/providers/saml/email")
    mappings = [sb.ok("POST", "/propertymappings/provider/saml/", {"name": n, "saml_name": s, "expression": e})["pk"]
                for n, s, e in (("SF Username", "User.Username", "return request.user.email"),
                                ("SF LastName", "User.LastName",
                                 'return request.user.name.split()[-1] if request.user.name else "User"'),
                                ("SF ProfileId", "User.ProfileId", 'return "00eXXXXXXXXXXXXX"'))]
    provider = sb.saml_provider(signing_kp=kp["pk"], sign_assertion=True, property_mappings=mappings,
                                name_id_mapping=email["results"][0]["pk"])
    path = "/providers/saml/%s/metadata/" % provider["pk"]
    if since(sb, "2026.5"):
        assert sb.request("GET", path)[0] == 404
    else:
        assert sb.ok("GET", path) == {"metadata": ""}
        assert sb.ok("GET", path, download="") == {"metadata": ""}
    sb.ok("POST", "/core/applications/", {"name": "Salesforce", "slug": "salesforce", "provider": provider["pk"]})
    provider = sb.ok("GET", "/providers/saml/%s/" % provider["pk"])
    base = "http://127.0.0.1:%s/application/saml/salesforce/" % sb.port
    assert provider["url_sso_post"] == base + "sso/binding/post/"
    assert provider["url_slo_redirect"] == base + "slo/binding/redirect/"
    assert provider["assigned_application_slug"] == "salesforce"
    answer = sb.ok("GET", path)
    assert list(answer) == ["metadata"]  # no download_url, as on the real server
    metadata = answer["metadata"]
    pem_body = "".join(kp_line for kp_line in sb.ok("GET", "/crypto/certificatekeypairs/%s/view_certificate/"
                                                    % kp["pk"])["data"].splitlines() if "-----" not in kp_line)
    assert "<md:EntityDescriptor" in metadata and pem_body in metadata
    status, response, xml = sb.request("GET", path, params={"download": ""}, raw=True)
    assert status == 200 and response.getheader("Content-Type") == "application/xml" and xml == metadata
    # the metadata URL outside the API, as url_download_metadata gives it once there is an application
    assert provider["url_download_metadata"] == base + "metadata/"
    assert sb.request("GET", "/application/saml/salesforce/metadata/", token=None, raw=True)[2] == metadata
    preview = sb.ok("GET", "/providers/saml/%s/preview_user/" % provider["pk"], for_user=2)["preview"]
    assert preview["nameID"] == "jane.doe@example.com"
    assert preview["attributes"] == [
        {"Value": ["Doe"], "Name": "User.LastName"},
        {"Value": ["00eXXXXXXXXXXXXX"], "Name": "User.ProfileId"},
        {"Value": ["jane.doe@example.com"], "Name": "User.Username"},
    ]


# --- SCIM, applications, bindings ------------------------------------------------------------------

def test_scim_enterprise_gate_token_and_sync_count(sb):
    body = {"name": "scim", "url": "not a url", "token": "secret", "compatibility_mode": "sfdc", "auth_mode": "oauth"}
    # Unlicensed by default, as most real servers are.
    assert sb.ok("GET", "/enterprise/license/summary/")["status"] == "unlicensed"
    status, answer = sb.call("POST", "/providers/scim/", body)
    assert (status, answer) == (400, {"auth_mode": ["Enterprise is required to use the OAuth mode."]})
    assert sb.ok("POST", "/_sandbox/config", {"enterprise": True}, status=200)["enterprise"] is True
    assert sb.ok("GET", "/enterprise/license/summary/")["status"] == "valid"
    scim = sb.ok("POST", "/providers/scim/", body)
    assert scim["url"] == "not a url" and scim["compatibility_mode"] == "sfdc"
    if since(sb, "2026.2"):
        assert "token" not in scim and scim["group_filters"] == [] and "filter_group" not in scim
    else:
        assert scim["token"] == "secret" and scim["filter_group"] is None and "group_filters" not in scim
    assert ("discovery_enabled" in scim) == since(sb, "2026.8")
    assert ("auth_oauth_token_expires" in scim) == since(sb, "2026.5")
    sb.ok("PATCH", "/providers/scim/%s/" % scim["pk"], {"dry_run": True})
    assert sb.ok("GET", "/_sandbox/state")["sync_count"] == {str(scim["pk"]): 2}
    assert sb.ok("POST", "/_sandbox/config", {"enterprise": False}, status=200)["enterprise"] is False
    status, answer = sb.call("PATCH", "/providers/scim/%s/" % scim["pk"], {"auth_mode": "oauth"})
    assert (status, answer) == (400, {"auth_mode": ["Enterprise is required to use the OAuth mode."]})
    assert sb.ok("GET", "/_sandbox/state")["sync_count"] == {str(scim["pk"]): 2}
    assert sb.request("POST", "/_sandbox/reset")[0] == 204
    assert sb.ok("GET", "/_sandbox/config")["enterprise"] is False


def test_application_list_hides_restricted_apps_and_caches_pages(sb):
    group = sb.ok("POST", "/core/groups/", {"name": "salesforce-users", "users": [2]})
    open_app = sb.ok("POST", "/core/applications/", {"name": "A open", "slug": "a-open"})
    closed = sb.ok("POST", "/core/applications/", {"name": "B closed", "slug": "b-closed"})
    sb.ok("POST", "/policies/bindings/", {"target": closed["pk"], "group": group["pk"], "order": 0})
    listed = sb.ok("GET", "/core/applications/")
    assert [a["slug"] for a in listed["results"]] == ["a-open"] and listed["pagination"]["count"] == 2
    full = sb.ok("GET", "/core/applications/", superuser_full_list="true")
    assert [a["slug"] for a in full["results"]] == ["a-open", "b-closed"]
    # cached per user and page, whatever the filters: ?slug=b-closed answers with page 1 of the first list
    assert [a["slug"] for a in sb.ok("GET", "/core/applications/", slug="b-closed")["results"]] == ["a-open"]
    assert sb.ok("GET", "/core/applications/b-closed/")["pk"] == closed["pk"]
    assert open_app["slug"] == "a-open"
    status, body = sb.call("POST", "/core/applications/", {"name": "x", "slug": "token"})
    assert status == 400 and "reserved" in body["slug"][0]
    status, body = sb.call("POST", "/core/applications/", {"name": "x", "slug": "not a slug"})
    assert (status, body) == (400, {"slug": ['Enter a valid "slug" consisting of letters, numbers, underscores or '
                                             'hyphens.']})


def test_application_provider_is_one_to_one_and_delete_cascades(sb):
    provider = sb.saml_provider()
    scim = sb.ok("POST", "/providers/scim/", {"name": "scim", "url": "https://scim"})
    sb.ok("POST", "/core/applications/", {"name": "one", "slug": "one", "provider": provider["pk"],
                                          "backchannel_providers": [scim["pk"]]})
    status, body = sb.call("POST", "/core/applications/", {"name": "two", "slug": "two", "provider": provider["pk"]})
    assert (status, body) == (400, {"provider": ["application with this provider already exists."]})
    assert sb.ok("GET", "/providers/scim/%s/" % scim["pk"])["assigned_backchannel_application_slug"] == "one"
    sb.ok("DELETE", "/core/applications/one/")
    assert sb.request("GET", "/providers/scim/%s/" % scim["pk"])[0] == 404
    assert sb.ok("GET", "/providers/saml/%s/" % provider["pk"])["assigned_application_slug"] is None


def test_policy_bindings(sb):
    app = sb.ok("POST", "/core/applications/", {"name": "app", "slug": "app"})
    group = sb.ok("GET", "/core/groups/", name="authentik Admins")["results"][0]
    status, body = sb.call("POST", "/policies/bindings/", {"target": app["pk"], "order": 0})
    assert status == 400 and body["non_field_errors"][0].startswith("One of")
    status, body = sb.call("POST", "/policies/bindings/",
                           {"target": app["pk"], "order": 0, "user": 1, "group": group["pk"]})
    assert status == 400 and body["non_field_errors"][0].startswith("Only one of")
    status, body = sb.call("POST", "/policies/bindings/", {"group": group["pk"]})
    assert status == 400 and set(body) == {"target", "order"}
    # duplicates are allowed, like on the real server
    binding = {"target": app["pk"], "order": 0, "group": group["pk"]}
    assert sb.ok("POST", "/policies/bindings/", binding)["pk"] != sb.ok("POST", "/policies/bindings/", binding)["pk"]
    assert sb.ok("GET", "/policies/bindings/", target=app["pk"])["pagination"]["count"] == 2


def test_unknown_fields_are_refused_unless_the_sandbox_drops_them_like_the_real_server(sb):
    status, body = sb.call("POST", "/core/groups/", {"name": "g", "no_such_field": 1})
    assert status == 400 and list(body) == ["no_such_field"]
    config = sb.ok("POST", "/_sandbox/config", {"drop_unknown_fields": True}, status=200)
    assert config["drop_unknown_fields"] is True
    group = sb.ok("POST", "/core/groups/", {"name": "g", "no_such_field": 1})
    assert "no_such_field" not in group and group["name"] == "g"
    assert sb.ok("PATCH", "/core/groups/%s/" % group["pk"], {"no_such_field": 2})["name"] == "g"
    assert sb.call("POST", "/core/groups/", {"name": None, "x": 1})[0] == 400  # the rest is still checked
    assert sb.call("POST", "/_sandbox/config", {"drop_unknown_fields": "yes"})[0] == 400
    assert sb.request("POST", "/_sandbox/reset")[0] == 204
    assert sb.ok("GET", "/_sandbox/config")["drop_unknown_fields"] is False


def test_policy_binding_update_is_validated_as_a_whole(sb):
    app = sb.ok("POST", "/core/applications/", {"name": "app", "slug": "app"})
    group = sb.ok("GET", "/core/groups/", name="authentik Admins")["results"][0]
    binding = sb.ok("POST", "/policies/bindings/", {"target": app["pk"], "order": 0, "group": group["pk"]})
    path = "/policies/bindings/%s/" % binding["pk"]
    # As on real 2025.12.4 and 2026.2.2: the serializer reads target even on a partial update.
    status, response, body = sb.request("PATCH", path, {"order": 20}, raw=True)
    assert (status, body) == (405, "") and response.getheader("Content-Type").startswith("text/html")
    status, body = sb.call("PATCH", path, {"target": app["pk"], "order": 20})
    assert (status, body) == (400, {"non_field_errors": ["One of 'group', 'policy', 'user' must be set."]})
    assert sb.ok("GET", path)["order"] == 0
    change = {"target": app["pk"], "group": group["pk"], "order": 20, "negate": True, "enabled": False, "timeout": 5}
    changed = sb.ok("PATCH", path, change)
    assert (changed["order"], changed["negate"], changed["enabled"], changed["timeout"]) == (20, True, False, 5)


# --- OAuth source ----------------------------------------------------------------------------------

OIDC = {"name": "Salesforce", "slug": "salesforce", "provider_type": "openidconnect", "consumer_key": "key",
        "consumer_secret": "secret", "authorization_url": "https://sf/authorize", "access_token_url": "https://sf/token",
        "profile_url": "https://sf/userinfo", "pkce": "S256", "additional_scopes": "*openid api"}


def test_oauth_source_rules(sb):
    source = sb.ok("POST", "/sources/oauth/", OIDC)
    assert "consumer_secret" not in source
    assert source["callback_url"] == "http://127.0.0.1:%s/source/oauth/callback/salesforce/" % sb.port
    status, response, body = sb.request("PATCH", "/sources/oauth/salesforce/", {"enabled": False}, raw=True)
    if since(sb, "2026.2"):  # fixed in 2026.2.2; the profile's client is 2026.2.7
        assert status == 400 and "authorization_url is required for provider OpenID Connect" in body
    else:
        assert (status, body) == (405, "") and response.getheader("Content-Type").startswith("text/html")
    status, body = sb.call("PATCH", "/sources/oauth/salesforce/", {"provider_type": "openidconnect", "enabled": False})
    assert (status, body) == (400, {"non_field_errors": ["authorization_url is required for provider OpenID Connect"]})
    urls = {k: OIDC[k] for k in ("provider_type", "authorization_url", "access_token_url", "profile_url")}
    assert sb.ok("PATCH", "/sources/oauth/salesforce/", dict(urls, enabled=False))["enabled"] is False
    status, body = sb.call("POST", "/sources/oauth/", dict(OIDC, slug="other", provider_type="azuread"))
    if since(sb, "2026.8"):
        assert (status, body) == (400, {"provider_type": ['"azuread" is not a valid choice.']})
    else:
        assert status == 201


class _Discovery(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        base = "http://127.0.0.1:%s" % self.server.server_address[1]
        documents = {
            "/.well-known/openid-configuration": {
                "issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
                "userinfo_endpoint": base + "/userinfo", "jwks_uri": base + "/jwks",
                "code_challenge_methods_supported": ["S256", "plain"]},
            "/jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]},
        }
        body = json.dumps(documents.get(self.path, {})).encode()
        self.send_response(200 if self.path in documents else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_oauth_source_fetches_well_known_and_jwks(sb):
    discovery = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    thread = threading.Thread(target=discovery.serve_forever, daemon=True)
    thread.start()
    try:
        base = "http://127.0.0.1:%s" % discovery.server_address[1]
        body = {k: v for k, v in OIDC.items() if k not in ("authorization_url", "access_token_url", "profile_url",
                                                           "pkce")}
        well_known = base + "/.well-known/openid-configuration"
        source = sb.ok("POST", "/sources/oauth/", dict(body, oidc_well_known_url=well_known))
        assert source["authorization_url"] == base + "/authorize" and source["profile_url"] == base + "/userinfo"
        assert source["oidc_jwks_url"] == base + "/jwks" and source["oidc_jwks"]["keys"][0]["kid"] == "k1"
        # the real bug (goauthentik/authentik#21665): without pkce in the body the whole list is copied into it
        assert source["pkce"] == "['S256', 'plain']"
        status, errors = sb.call("POST", "/sources/oauth/", dict(body, slug="x", oidc_jwks_url=base + "/nope"))
        assert status == 400 and list(errors) == ["oidc_jwks_url"]
    finally:
        discovery.shutdown()
        discovery.server_close()
    status, errors = sb.call("POST", "/sources/oauth/", dict(body, slug="y", oidc_well_known_url=base + "/gone"))
    assert status == 400 and list(errors) == ["oidc_well_known_url"]


# --- certificates ----------------------------------------------------------------------------------

def test_certificates(sb):
    generated = sb.ok("POST", "/crypto/certificatekeypairs/generate/", {
        "common_name": "sso.example.com", "subject_alt_name": "sso.example.com,idp.example.com",
        "validity_days": 30, "alg": "ecdsa"}, status=200)
    assert generated["name"] == "sso.example.com" and generated["key_type"] == "ec"
    assert "certificate_data" not in generated and "key_data" not in generated
    pem = sb.ok("GET", "/crypto/certificatekeypairs/%s/view_certificate/" % generated["pk"])["data"]
    key = sb.ok("GET", "/crypto/certificatekeypairs/%s/view_private_key/" % generated["pk"])["data"]
    status, response, raw = sb.request("GET", "/crypto/certificatekeypairs/%s/view_certificate/" % generated["pk"],
                                       params={"download": ""}, raw=True)
    assert status == 200 and raw == pem and response.getheader("Content-Type") == "application/x-pem-file"
    imported = sb.ok("POST", "/crypto/certificatekeypairs/", {"name": "imported", "certificate_data": pem})
    assert imported["fingerprint_sha256"] == generated["fingerprint_sha256"]
    assert imported["private_key_available"] is False
    assert ":" in imported["fingerprint_sha1"] and imported["fingerprint_sha1"] == imported["fingerprint_sha1"].lower()
    status, body = sb.call("POST", "/crypto/certificatekeypairs/", {"name": "bad", "certificate_data": "nope"})
    assert (status, body) == (400, {"certificate_data": ["Unable to load certificate."]})
    sb.ok("PATCH", "/crypto/certificatekeypairs/%s/" % imported["pk"], {"key_data": key})
    names = [kp["name"] for kp in sb.ok("GET", "/crypto/certificatekeypairs/", has_key="true")["results"]]
    assert names == ["authentik Self-signed Certificate", "imported", "sso.example.com"]


# --- control endpoint: faults, log, state ----------------------------------------------------------

def test_fault_injection_then_success(sb):
    rule = sb.ok("POST", "/_sandbox/faults", {"method": "GET", "path": "^/api/v3/admin/version/$", "status": 429,
                                              "retry_after": 2, "times": 1})
    assert rule["times"] == 1
    status, response, body = sb.request("GET", "/admin/version/")
    assert status == 429 and response.getheader("Retry-After") == "2" and "throttled" in body["detail"]
    assert sb.ok("GET", "/_sandbox/faults") == []
    sb.ok("GET", "/admin/version/")
    sb.ok("POST", "/_sandbox/faults", {"path": "/core/users/", "drop": True})
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        sb.request("GET", "/core/users/")
    sb.ok("POST", "/_sandbox/faults", {"path": "/core/users/", "status": 503, "delay": 0.2, "times": 1})
    started = time.time()
    assert sb.request("GET", "/core/users/")[0] == 503 and time.time() - started >= 0.2
    log = sb.ok("GET", "/_sandbox/requests")
    assert [(e["status"], e["fault"]) for e in log] == [(429, "429"), (200, None), (None, "drop"), (503, "delay+503")]


def test_request_log(sb):
    sb.ok("GET", "/core/users/", username="jdoe")
    mapping = sb.ok("POST", "/propertymappings/provider/scim/", {"name": "n", "expression": "return {}"})
    sb.ok("DELETE", "/propertymappings/provider/scim/%s/" % mapping["pk"])
    sb.request("GET", "/admin/version/", token="bad")
    log = sb.ok("GET", "/_sandbox/requests")
    assert [(e["seq"], e["method"], e["path"], e["status"], e["write"]) for e in log] == [
        (1, "GET", "/api/v3/core/users/", 200, False),
        (2, "POST", "/api/v3/propertymappings/provider/scim/", 201, True),
        (3, "DELETE", "/api/v3/propertymappings/provider/scim/%s/" % mapping["pk"], 204, True),
        (4, "GET", "/api/v3/admin/version/", 403, False),
    ]
    assert log[0]["query"] == {"username": ["jdoe"]} and log[0]["body"] is None
    assert log[1]["body"] == {"name": "n", "expression": "return {}"}
    assert sb.request("DELETE", "/_sandbox/requests")[0] == 204
    assert sb.ok("GET", "/_sandbox/requests") == []


def test_state_and_reset(sb):
    sb.saml_provider(name="temporary")
    objects = sb.ok("GET", "/_sandbox/state")["objects"]
    assert [p["name"] for p in objects["providers"]] == ["temporary"]
    assert sb.request("POST", "/_sandbox/reset")[0] == 204
    assert sb.ok("GET", "/_sandbox/state")["objects"]["providers"] == []
    assert sb.ok("GET", "/_sandbox/requests") == []


def test_check_mode_guard_refuses_and_records_writes(sb):
    assert sb.ok("GET", "/_sandbox/guard") == {"writes": "allow", "violations": []}
    armed = sb.ok("POST", "/_sandbox/guard", {"writes": "forbid"}, status=200)
    assert armed == {"writes": "forbid", "violations": []}
    sb.ok("GET", "/core/users/", username="jdoe")  # reads go through
    status, body = sb.call("POST", "/propertymappings/provider/scim/", {"name": "n", "expression": "return {}"})
    assert status == 409 and body == {"detail": "sandbox check-mode guard: POST /api/v3/propertymappings/provider/"
                                                "scim/ is a write, and the run is in check mode (writes are forbidden)"}
    # Before any fault rule and whatever the token: every write is refused.
    sb.ok("POST", "/_sandbox/faults", {"method": "DELETE", "path": "/core/groups/", "status": 503, "times": 5})
    for method in ("PUT", "PATCH", "DELETE"):
        assert sb.call(method, "/core/groups/00000000-0000-0000-0000-000000000000/", {}, token="wrong")[0] == 409
    assert sb.ok("GET", "/_sandbox/faults")[0]["times"] == 5  # the fault rule took nothing
    violations = sb.ok("GET", "/_sandbox/guard")["violations"]
    assert [(v["method"], v["path"]) for v in violations] == [
        ("POST", "/api/v3/propertymappings/provider/scim/")] + [
        (method, "/api/v3/core/groups/00000000-0000-0000-0000-000000000000/") for method in ("PUT", "PATCH", "DELETE")]
    assert violations[0]["body"] == {"name": "n", "expression": "return {}"}
    log = sb.ok("GET", "/_sandbox/requests")
    assert [(e["seq"], e["status"]) for e in log if e["fault"] == "guard"] == [(v["seq"], 409) for v in violations]
    assert sb.ok("GET", "/propertymappings/provider/scim/", name="n")["results"] == []  # nothing was applied
    # Allowed again, writes go through; the violations stay until the guard is cleared or the sandbox reset.
    sb.ok("DELETE", "/_sandbox/faults")
    sb.ok("POST", "/_sandbox/guard", {"writes": "allow"}, status=200)
    sb.ok("POST", "/propertymappings/provider/scim/", {"name": "n", "expression": "return {}"})
    assert len(sb.ok("GET", "/_sandbox/guard")["violations"]) == 4
    assert sb.request("DELETE", "/_sandbox/guard")[0] == 204
    assert sb.ok("GET", "/_sandbox/guard") == {"writes": "allow", "violations": []}
    sb.ok("POST", "/_sandbox/guard", {"writes": "forbid"}, status=200)
    assert sb.call("DELETE", "/propertymappings/all/%s/" % sb.ok(
        "GET", "/propertymappings/provider/scim/", name="n")["results"][0]["pk"])[0] == 409
    assert sb.request("POST", "/_sandbox/reset")[0] == 204
    assert sb.ok("GET", "/_sandbox/guard") == {"writes": "allow", "violations": []}


@pytest.mark.parametrize("body", [{}, {"writes": "maybe"}, {"writes": "forbid", "other": 1}, ["forbid"]])
def test_check_mode_guard_settings_are_checked(sb, body):
    status, answer = sb.call("POST", "/_sandbox/guard", body)
    assert status == 400 and "forbid" in answer["detail"]
    assert sb.ok("GET", "/_sandbox/guard") == {"writes": "allow", "violations": []}


def test_refuses_a_client_of_another_version(servers, tmp_path):
    python = servers["2025.12"].python
    mismatch = sandboxes.Server("mismatch", [python, SERVER, "--profile", "2026.8"], tmp_path)
    with pytest.raises(sandboxes.LaunchError, match="exited with code"):
        sandboxes.start(mismatch, timeout=60)
    assert mismatch.process.returncode != 0 and "authentik-client 2025.12.4 is installed" in mismatch.log()


def test_tls_and_clean_shutdown(servers, tmp_path):
    any_sandbox = next(iter(servers.values()))
    files = certificates.tls_files(tmp_path)
    server = sandboxes.start_or_fail(sandboxes.authentik_server(tmp_path, any_sandbox.profile, tls=files, name="tls"))
    try:
        assert server.url.startswith("https://127.0.0.1:")
        conn = http.client.HTTPSConnection("127.0.0.1", urlsplit(server.url).port, timeout=TIMEOUT,
                                           context=server.context)
        conn.request("GET", "/api/v3/admin/version/", headers={"Authorization": "Bearer sandbox-token"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["version_current"].startswith(
            any_sandbox.profile)
        conn.close()
    finally:
        assert server.stop() == 0  # SIGTERM: a clean exit


# --- redirect faults, pending requests ---------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_fault(sb, status):
    location = "http://127.0.0.2:9/elsewhere?x=1"
    rule = sb.ok("POST", "/_sandbox/faults", {"method": "POST", "path": "^/api/v3/core/applications/$",
                                              "kind": "redirect", "status": status, "location": location},
                 status=201)
    assert (rule["kind"], rule["status"], rule["location"]) == ("redirect", status, location)
    code, response, body = sb.request("POST", "/core/applications/", {"slug": "moved", "name": "Moved"})
    assert code == status and response.getheader("Location") == location
    assert response.getheader("Content-Type") == "text/html" and str(status) in body
    # Nothing was applied: the redirect is the whole answer.
    assert sb.ok("GET", "/core/applications/", slug="moved")["results"] == []
    entry = sb.ok("GET", "/_sandbox/requests")[0]
    assert (entry["method"], entry["status"], entry["fault"]) == ("POST", status, "redirect")


def test_redirect_fault_to_a_path_with_a_delay(sb):
    sb.ok("POST", "/_sandbox/faults", {"path": "/admin/version/", "kind": "redirect", "status": 307,
                                       "location": "/api/v3/admin/version/", "delay": 0.1}, status=201)
    code, response, _body = sb.request("GET", "/admin/version/")
    assert code == 307 and response.getheader("Location") == "/api/v3/admin/version/"
    assert sb.request("GET", "/admin/version/")[0] == 200
    assert [e["fault"] for e in sb.ok("GET", "/_sandbox/requests")] == ["delay+redirect", None]


@pytest.mark.parametrize("rule, problem", [
    ({"kind": "redirect", "status": 307}, "needs a location"),
    ({"kind": "redirect", "location": "http://127.0.0.2/"}, "needs a status"),
    ({"kind": "redirect", "status": 200, "location": "/x"}, "needs a status"),
    ({"kind": "redirect", "status": 503, "location": "/x"}, "needs a status"),
    ({"kind": "redirect", "status": 307, "location": "ftp://127.0.0.2/x"}, "absolute http(s) URL"),
    ({"kind": "redirect", "status": 307, "location": "elsewhere"}, "absolute http(s) URL"),
    ({"kind": "redirect", "status": 307, "location": "/x\r\nSet-Cookie: a=b"}, "needs a location"),
    ({"kind": "redirect", "status": 307, "location": "/x", "drop": True}, "cannot drop"),
    ({"status": 307}, "status must be one of"),
    ({"status": 503, "location": "/x"}, "location goes with kind redirect"),
    ({"kind": "moved", "status": 307, "location": "/x"}, "kind must be one of"),
    ({"kind": "redirect", "status": 307, "location": "/x", "headers": {}}, "fault keys"),
])
def test_redirect_rules_are_checked(sb, rule, problem):
    code, body = sb.call("POST", "/_sandbox/faults", rule)
    assert code == 400 and problem in body["detail"], body
    assert sb.ok("GET", "/_sandbox/faults") == []


def test_pending_lists_a_request_until_it_is_answered(sb):
    sb.ok("POST", "/_sandbox/faults", {"path": "/admin/version/", "delay": 1.0}, status=201)
    assert sb.ok("GET", "/_sandbox/pending") == []
    answered = []
    client = threading.Thread(target=lambda: answered.append(sb.request("GET", "/admin/version/")[0]))
    client.start()
    try:
        pending = waits.wait_until(lambda: sb.ok("GET", "/_sandbox/pending"), "pending")
        assert [(e["method"], e["path"]) for e in pending] == [("GET", "/api/v3/admin/version/")]
        # Logged from the start, without a status while it is pending.
        assert [(e["seq"], e["status"], e["fault"]) for e in sb.ok("GET", "/_sandbox/requests")] == [
            (pending[0]["seq"], None, "delay")]
        log = waits.settled_requests(lambda route: sb.ok("GET", "/_sandbox/" + route))
        assert [(e["status"], e["fault"]) for e in log] == [(200, "delay")]
    finally:
        client.join(TIMEOUT)
    assert answered == [200]
