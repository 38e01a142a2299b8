# -*- coding: utf-8 -*-
"""The Salesforce modules against an in-memory Metadata API: field mappings both ways, what they send and when."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, check_api_name
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import USER, SalesforceClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import same_record
from ansible_collections.sso.authentik.plugins.modules import salesforce_external_client_app as eca_module
from ansible_collections.sso.authentik.plugins.modules import salesforce_saml_sso_config as saml_module
from ansible_collections.sso.authentik.plugins.modules import salesforce_sso_settings as sso_module
from support.certificates import self_signed
from support.fakes import FakeModule

ORG = "00DSB00000000012AA"
USER_ID = "005SB0000000001YAA"
CERT_ID = "0P1SB00000000010AA"


PEM = self_signed("one")[0]
OTHER_PEM = self_signed("two")[0]
BODY = "".join(PEM.strip().splitlines()[1:-1])


class FakeMetadata:
    """Components by (type, fullName); every call is logged; writes store what they were sent."""

    def __init__(self, records=None):
        self.records = copy.deepcopy(records or {})
        self.calls = []

    def read(self, type_name, name):
        self.calls.append(("read", type_name, name))
        return copy.deepcopy(self.records.get((type_name, name)))

    def _store(self, operation, type_name, component):
        self.calls.append((operation, type_name, copy.deepcopy(component)))
        self.records[(type_name, component["fullName"])] = {k: v for k, v in component.items() if v is not None}

    def create(self, type_name, component):
        self._store("create", type_name, component)

    def update(self, type_name, component):
        self._store("update", type_name, component)

    def upsert(self, type_name, component):
        self._store("upsert", type_name, component)

    def delete(self, type_name, name):
        self.calls.append(("delete", type_name, name))
        del self.records[(type_name, name)]

    def writes(self):
        return [call for call in self.calls if call[0] != "read"]


class FakeSession:
    def usage(self):
        return {"calls": 0}


class FakeClient:
    instance_url = "https://acme.my.salesforce.com"

    def __init__(self, metadata, ids=None):
        self.metadata = metadata
        self.session = FakeSession()
        self.ids = ids or {}
        self.queries = []

    def resolve(self, ref, value):
        self.queries.append((ref.path, value))
        return self.ids.get(value)

    def name_of(self, ref, ident):
        return next((name for name, known in self.ids.items() if same_record(known, ident)), ident)

    def name_by_id(self, ref, ident):
        return next((name for name, known in self.ids.items() if same_record(known, ident)), None)

    def org_id(self):
        return ORG


PAUSES = []


def run(resource_class, metadata, check_mode=False, ids=None, **params):
    resource = resource_class()
    resource.module = FakeModule(check_mode)
    spec = resource.argument_spec()
    resource.params = dict({option: None for option in spec}, instance_url=FakeClient.instance_url)
    if "state" in spec:  # org-wide settings have none
        resource.params["state"] = "present"
    for option, spec in resource.extra_options.items():
        resource.params[option] = spec.get("default")
    resource.params.update(params)
    resource.client = FakeClient(metadata, ids)
    resource.sleep = PAUSES.append  # the settings' confirming read comes after a pause; no real wait here
    for field in resource.fields:  # as the engine's run() does, before any request
        field.validate(resource.params.get(field.option))
    resource.validate()
    return resource.reconcile(), resource


# -- SamlSsoConfig ----------------------------------------------------------------------------------------------

GUIDE = dict(name="authentik", issuer="https://authentik.company", idp_certificate=PEM,
             idp_login_url="https://authentik.company/application/saml/salesforce/sso/binding/post/",
             request_signature_method="RSA-SHA256", identity_type="federation_id", identity_location="subject",
             sp_initiated_binding="post", jit_provisioning="standard")


def stored_config(**changes):
    record = {"fullName": "authentik", "name": "authentik", "issuer": "https://authentik.company",
              "identityMapping": "FederationId", "identityLocation": "SubjectNameId",
              "loginUrl": GUIDE["idp_login_url"], "redirectBinding": False, "requestSignatureMethod": "RSA-SHA256",
              "samlEntityId": FakeClient.instance_url, "samlVersion": "SAML2_0", "userProvisioning": True,
              "validationCert": BODY, "salesforceLoginUrl": FakeClient.instance_url + "?so=00DSB0000000001",
              "oauthTokenEndpoint": FakeClient.instance_url + "/services/oauth2/token?so=00DSB0000000001"}
    record.update(changes)
    return {("SamlSsoConfig", "authentik"): record}


def test_saml_create_sends_the_guide_values_in_metadata_terms():
    metadata = FakeMetadata()
    result, _resource = run(saml_module.SamlSsoConfig, metadata, **GUIDE)
    assert result["changed"]
    [(operation, type_name, component)] = metadata.writes()
    assert (operation, type_name) == ("create", "SamlSsoConfig")
    assert component == {
        "fullName": "authentik", "name": "authentik", "issuer": "https://authentik.company", "validationCert": BODY,
        "loginUrl": GUIDE["idp_login_url"], "samlEntityId": FakeClient.instance_url, "identityMapping": "FederationId",
        "identityLocation": "SubjectNameId", "redirectBinding": False, "requestSignatureMethod": "RSA-SHA256",
        "userProvisioning": True, "samlJitHandlerId": None, "executionUserId": None, "samlVersion": "SAML2_0"}
    assert "\n" not in component["validationCert"] and "BEGIN" not in component["validationCert"]
    assert result["org_id"] == ORG and result["org_id_15"] == ORG[:15]
    assert result["diff"]["after"]["idp_certificate"] == crypto.pem_fingerprint(PEM)
    assert BODY not in str(result["diff"])


def test_saml_no_change_whatever_form_salesforce_returns():
    wrapped = "\n".join(BODY[i:i + 64] for i in range(0, len(BODY), 64))
    metadata = FakeMetadata(stored_config(requestSignatureMethod="1", validationCert=wrapped))
    params = dict(GUIDE)
    params["idp_certificate"] = PEM.replace("\n", "\r\n")
    result, _resource = run(saml_module.SamlSsoConfig, metadata, **params)
    assert not result["changed"]
    assert metadata.writes() == []
    assert metadata.calls == [("read", "SamlSsoConfig", "authentik")]
    assert result["salesforce_login_url"] == FakeClient.instance_url + "?so=00DSB0000000001"


@pytest.mark.parametrize("stored, view", [
    ({"requestSignatureMethod": "1"}, {"requestSignatureMethod": "RSA-SHA256"}),
    ({"requestSignatureMethod": "0"}, {"requestSignatureMethod": "RSA-SHA1"}),
    ({"requestSignatureMethod": "RSA-SHA1"}, {"requestSignatureMethod": "RSA-SHA1"}),
    ({}, {"redirectBinding": False, "userProvisioning": False, "jitProvisioning": "disabled"}),
    ({"userProvisioning": True}, {"jitProvisioning": "standard"}),
    ({"userProvisioning": True, "samlJitHandlerId": "AuthentikJitHandler"}, {"jitProvisioning": "custom"}),
    ({"userProvisioning": False, "samlJitHandlerId": "AuthentikJitHandler"}, {"jitProvisioning": "disabled"}),
])
def test_saml_from_metadata(stored, view):
    resource = saml_module.SamlSsoConfig()
    resource.params = {"jit_handler": None}
    result = resource.from_metadata(dict(stored))
    assert {key: result[key] for key in view} == view


@pytest.mark.parametrize("values, component", [
    ({"jitProvisioning": "standard"}, {"userProvisioning": True, "samlJitHandlerId": None, "executionUserId": None}),
    ({"jitProvisioning": "disabled"}, {"userProvisioning": False, "samlJitHandlerId": None, "executionUserId": None}),
    ({"jitProvisioning": "custom", "samlJitHandlerId": "H", "executionUserId": USER_ID},
     {"userProvisioning": True, "samlJitHandlerId": "H", "executionUserId": USER_ID[:15]}),
    ({"requestSigningCertId": CERT_ID}, {"requestSigningCertId": CERT_ID[:15]}),
    ({"validationCert": PEM}, {"validationCert": BODY}),
])
def test_saml_to_metadata(values, component):
    assert saml_module.SamlSsoConfig().to_metadata(dict(values)) == component


def test_saml_option_values_both_ways():
    fields = {field.option: field for field in saml_module.SamlSsoConfig.fields}
    for option, api, value in (("identity_type", "FederationId", "federation_id"),
                               ("identity_type", "UserId", "user_id"),
                               ("identity_location", "SubjectNameId", "subject"),
                               ("sp_initiated_binding", True, "redirect"),
                               ("sp_initiated_binding", False, "post")):
        field = fields[option]
        assert field.to_api(value) == api
        shown = field.from_api(api)
        assert (field.format(shown) if field.format else shown) == value


def test_saml_update_sends_the_whole_component_without_generated_fields():
    metadata = FakeMetadata(stored_config())
    result, _resource = run(saml_module.SamlSsoConfig, metadata, name="authentik", idp_logout_url="https://x.test/")
    [(operation, _type, component)] = metadata.writes()
    assert operation == "update"
    assert component["logoutUrl"] == "https://x.test/"
    assert component["issuer"] == "https://authentik.company" and component["validationCert"] == BODY
    assert "salesforceLoginUrl" not in component and "oauthTokenEndpoint" not in component
    assert result["diff"]["before"]["idp_logout_url"] is None
    assert result["diff"]["after"]["idp_logout_url"] == "https://x.test/"


def test_saml_check_mode_writes_nothing_and_predicts_the_acs_url():
    metadata = FakeMetadata()
    result, _resource = run(saml_module.SamlSsoConfig, metadata, check_mode=True, **GUIDE)
    assert result["changed"] and metadata.writes() == []
    assert result["salesforce_login_url"] == FakeClient.instance_url + "?so=00DSB0000000001"


def test_saml_custom_jit_resolves_the_user_and_back_to_standard_clears_it():
    metadata = FakeMetadata(stored_config())
    ids = {"admin@acme.com": USER_ID}
    result, _resource = run(saml_module.SamlSsoConfig, metadata, ids=ids, name="authentik", jit_provisioning="custom",
                            jit_handler="AuthentikJitHandler", jit_run_as="admin@acme.com")
    component = metadata.writes()[-1][2]
    assert component["executionUserId"] == USER_ID[:15] and component["samlJitHandlerId"] == "AuthentikJitHandler"
    assert result["diff"]["after"]["jit_run_as"] == "admin@acme.com"
    again, _resource = run(saml_module.SamlSsoConfig, metadata, ids=ids, name="authentik", jit_provisioning="custom",
                           jit_handler="AuthentikJitHandler", jit_run_as="admin@acme.com")
    assert not again["changed"]
    run(saml_module.SamlSsoConfig, metadata, name="authentik", jit_provisioning="standard")
    stored = metadata.records[("SamlSsoConfig", "authentik")]
    assert "samlJitHandlerId" not in stored and "executionUserId" not in stored and stored["userProvisioning"]


@pytest.mark.parametrize("params, message", [
    (dict(jit_provisioning="standard", identity_type="username"), "requires identity_type federation_id, not username"),
    (dict(jit_provisioning="custom", identity_type="user_id"), "requires identity_type federation_id, not user_id"),
    (dict(idp_certificate="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"), "not a valid PEM"),
    (dict(idp_certificate="MIIC..."), "not a PEM certificate"),
    (dict(jit_provisioning="standard", jit_handler="H"), "go with jit_provisioning=custom only"),
    (dict(idp_login_url="authentik.company/sso"), "idp_login_url must be an absolute http"),
])
def test_saml_bad_input_refused_before_any_call(params, message):
    metadata = FakeMetadata()
    with pytest.raises(EngineError, match=message):
        run(saml_module.SamlSsoConfig, metadata, name="authentik", **params)
    assert metadata.calls == []


def test_saml_jit_implies_federation_id():
    result, _resource = run(saml_module.SamlSsoConfig, FakeMetadata(stored_config(identityMapping="Username",
                                                                                  userProvisioning=False)),
                            name="authentik", jit_provisioning="standard")
    assert result["diff"]["after"] == {"name": "authentik", "entity_id": FakeClient.instance_url,
                                       "identity_type": "federation_id", "jit_provisioning": "standard"}


def test_saml_absent():
    metadata = FakeMetadata(stored_config())
    result, _resource = run(saml_module.SamlSsoConfig, metadata, name="authentik", state="absent")
    assert result["changed"] and metadata.writes() == [("delete", "SamlSsoConfig", "authentik")]
    again, _resource = run(saml_module.SamlSsoConfig, metadata, name="authentik", state="absent")
    assert not again["changed"] and len(metadata.writes()) == 1


# -- SecuritySettings / SingleSignOnSettings ---------------------------------------------------------------------

def security(**sso):
    block = {"enableCaseInsensitiveFederationID": False, "enableForceDelegatedCallout": False,
             "enableMultipleSamlConfigs": True, "enableSamlJitProvisioning": False, "enableSamlLogin": False,
             "isLoginWithSalesforceCredentialsDisabled": False}
    block.update(sso)
    return {("SecuritySettings", "Security"): {"fullName": "Security", "singleSignOnSettings": block,
                                               "sessionSettings": {"sessionTimeout": "TwoHours"}}}


def test_sso_settings_have_no_state():
    assert "state" not in sso_module.SsoSettings().argument_spec()


def test_sso_settings_send_only_their_block_with_the_values_read():
    metadata = FakeMetadata(security())
    result, _resource = run(sso_module.SsoSettings, metadata, saml_enabled=True)
    [(operation, type_name, component)] = metadata.writes()
    assert (operation, type_name) == ("update", "SecuritySettings")
    assert set(component) == {"fullName", "singleSignOnSettings"}
    assert component["singleSignOnSettings"]["enableSamlLogin"] is True
    assert component["singleSignOnSettings"]["enableMultipleSamlConfigs"] is True
    assert len(component["singleSignOnSettings"]) == 6
    assert result["diff"] == {"before": {"saml_enabled": False}, "after": {"saml_enabled": True}}


def test_sso_settings_never_send_multiple_configs_false():
    metadata = FakeMetadata(security(enableMultipleSamlConfigs=False))
    run(sso_module.SsoSettings, metadata, saml_enabled=True)
    assert "enableMultipleSamlConfigs" not in metadata.writes()[0][2]["singleSignOnSettings"]


def test_sso_settings_no_change_no_write():
    metadata = FakeMetadata(security(enableSamlLogin=True))
    result, _resource = run(sso_module.SsoSettings, metadata, saml_enabled=True, case_insensitive_federation_id=False)
    assert not result["changed"] and metadata.writes() == []


def test_sso_settings_refuse_the_lockout_without_force():
    metadata = FakeMetadata(security())
    with pytest.raises(EngineError, match="force=true"):
        run(sso_module.SsoSettings, metadata, disable_login_with_salesforce_credentials=True)
    assert metadata.calls == []
    result, _resource = run(sso_module.SsoSettings, metadata, disable_login_with_salesforce_credentials=True,
                            force=True)
    assert result["changed"]


# -- External Client App ------------------------------------------------------------------------------------------

APP = dict(name="authentik", contact_email="admin@company.com",
           callback_urls=["https://authentik.company/source/oauth/callback/salesforce/"], scopes=["openid", "api"],
           pkce_required=True, client_credentials_flow=True, client_credentials_user="admin@acme.com")
ORDER = [type_name for _alias, type_name, _suffix in eca_module.COMPONENTS]


def created_app():
    metadata = FakeMetadata()
    run(eca_module.ExternalClientApp, metadata, ids={"admin@acme.com": USER_ID}, **APP)
    # What Salesforce adds: the generated key and secret.
    metadata.records[("ExtlClntAppGlobalOauthSettings", "authentik_glbloauth")].update(
        consumerKey="3MVG9key", consumerSecret="SECRET123")
    metadata.calls.clear()
    return metadata


def test_eca_created_in_order_with_the_fields_split_by_component():
    metadata = FakeMetadata()
    result, _resource = run(eca_module.ExternalClientApp, metadata, ids={"admin@acme.com": USER_ID}, **APP)
    writes = metadata.writes()
    assert [(operation, type_name) for operation, type_name, _c in writes] == \
        [("create", ORDER[0])] + [("upsert", type_name) for type_name in ORDER[1:]]
    header, plcy, oauth, glob, policies = (component for _o, _t, component in writes)
    assert header == {"fullName": "authentik", "label": "authentik", "contactEmail": "admin@company.com"}
    assert plcy == {"fullName": "authentik_plcy", "externalClientApplication": "authentik", "isEnabled": True,
                    "isOauthPluginEnabled": True}
    assert oauth == {"fullName": "authentik_oauth", "externalClientApplication": "authentik",
                     "commaSeparatedOauthScopes": "OpenID, Api"}
    assert glob == {"fullName": "authentik_glbloauth", "externalClientApplication": "authentik",
                    "callbackUrl": APP["callback_urls"][0], "isPkceRequired": True,
                    "isClientCredentialsFlowEnabled": True, "shouldRotateConsumerKey": False,
                    "shouldRotateConsumerSecret": False}
    assert policies == {"fullName": "authentik_oauthPlcy", "externalClientApplication": "authentik",
                        "isClientCredentialsFlowEnabled": True, "clientCredentialsFlowUser": "admin@acme.com"}
    assert [call[1] for call in metadata.calls if call[0] == "read"] == ORDER[:1] + ORDER
    assert result["diff"]["after"]["scopes"] == ["api", "openid"]


def test_eca_no_change_reads_each_component_once():
    metadata = created_app()
    params = dict(APP)
    params["scopes"] = ["api", "openid"]  # another order
    result, _resource = run(eca_module.ExternalClientApp, metadata, **params)
    assert not result["changed"]
    assert metadata.calls == [("read", type_name, "authentik" + suffix)
                              for _alias, type_name, suffix in eca_module.COMPONENTS]
    assert result["consumer_key"] == "3MVG9key"


def test_eca_update_writes_only_the_component_that_changed_and_never_the_generated_fields():
    metadata = created_app()
    result, _resource = run(eca_module.ExternalClientApp, metadata, name="authentik",
                            callback_urls=["https://b.test/cb", "https://a.test/cb"])
    [(operation, type_name, component)] = metadata.writes()
    assert (operation, type_name) == ("update", "ExtlClntAppGlobalOauthSettings")
    assert component["callbackUrl"] == "https://b.test/cb\nhttps://a.test/cb"
    assert "consumerKey" not in component and "consumerSecret" not in component
    assert component["shouldRotateConsumerSecret"] is False
    assert result["diff"]["after"]["callback_urls"] == ["https://a.test/cb", "https://b.test/cb"]
    # The order of the URLs does not matter.
    again, _resource = run(eca_module.ExternalClientApp, metadata, name="authentik",
                           callback_urls=["https://a.test/cb", "https://b.test/cb"])
    assert not again["changed"]


def test_eca_secret_only_when_asked_never_in_the_app_or_the_diff():
    metadata = created_app()
    result, _resource = run(eca_module.ExternalClientApp, metadata, name="authentik", description="x")
    assert "SECRET123" not in str(result)
    asked, _resource = run(eca_module.ExternalClientApp, metadata, name="authentik", description="y",
                           return_secret=True)
    assert asked["consumer_secret"] == "SECRET123"
    assert "SECRET123" not in str({k: v for k, v in asked.items() if k != "consumer_secret"})


def test_eca_secret_unreadable_is_said():
    metadata = created_app()
    del metadata.records[("ExtlClntAppGlobalOauthSettings", "authentik_glbloauth")]["consumerSecret"]
    result, resource = run(eca_module.ExternalClientApp, metadata, name="authentik", return_secret=True)
    assert "consumer_secret" not in result
    assert resource.warnings == [eca_module.SECRET_UNAVAILABLE]


def test_eca_interrupted_creation_is_completed():
    metadata = created_app()
    for type_name, suffix in (("ExtlClntAppOauthConfigurablePolicies", "_oauthPlcy"),
                              ("ExtlClntAppGlobalOauthSettings", "_glbloauth")):
        del metadata.records[(type_name, "authentik" + suffix)]
    result, _resource = run(eca_module.ExternalClientApp, metadata, ids={"admin@acme.com": USER_ID}, **APP)
    assert result["changed"]
    assert [(operation, type_name) for operation, type_name, _c in metadata.writes()] == \
        [("upsert", "ExtlClntAppGlobalOauthSettings"), ("upsert", "ExtlClntAppOauthConfigurablePolicies")]


def test_eca_unknown_run_as_user_refused_before_any_write():
    metadata = FakeMetadata()
    with pytest.raises(EngineError, match="does not exist in the org"):
        run(eca_module.ExternalClientApp, metadata, **APP)
    assert metadata.writes() == []


def test_eca_connected_app_refused():
    with pytest.raises(EngineError, match="Spring '26"):
        run(eca_module.ExternalClientApp, FakeMetadata(), name="legacy", app_type="connected_app")


def test_eca_delete_in_reverse_order():
    metadata = created_app()
    run(eca_module.ExternalClientApp, metadata, name="authentik", state="absent")
    assert [type_name for _operation, type_name, _name in metadata.writes()] == ORDER[::-1]


@pytest.mark.parametrize("current, desired, equal", [
    ("Api, OpenID", ["OpenID", "Api"], True),
    ("Api,OpenID", ["Api"], False),
    ("RefreshToken, Api", ["RefreshToken", "Api", "Api"], True),
])
def test_eca_scope_comparison(current, desired, equal):
    assert eca_module.same_scopes(current, desired) is equal


def test_eca_scope_names_both_ways():
    field = next(field for field in eca_module.ExternalClientApp.fields if field.option == "scopes")
    assert field.to_api(["openid", "api", "refresh_token", "offline_access", "Chatter"]) == \
        ["OpenID", "Api", "RefreshToken", "RefreshToken", "Chatter"]
    assert field.format(field.from_api("OpenID, Api, RefreshToken")) == ["api", "openid", "refresh_token"]


# -- the transport's helpers --------------------------------------------------------------------------------------

class FakeRest:
    def __init__(self, rows):
        self.rows = rows
        self.queries = []

    def query(self, soql, tooling=False):
        self.queries.append((soql, tooling))
        return self.rows


def client_with(rows, login_info=None, token="00DSB0000000001!AQxyz"):
    client = SalesforceClient.__new__(SalesforceClient)
    client.rest = FakeRest(rows)
    client._ids = {}
    client.session = type("Session", (), {"login_info": login_info or {}, "access_token": token,
                                          "instance_url": "https://acme.my.salesforce.com"})()
    return client


def test_lookup_is_one_query_cached_and_prefers_the_exact_spelling():
    client = client_with([{"Id": USER_ID, "Username": "Admin@Acme.com"}, {"Id": "005SB0000000002YAA",
                                                                          "Username": "admin@acme.com"}])
    assert client.lookup(USER, ["admin@acme.com", "nobody@acme.com"]) == {"admin@acme.com": "005SB0000000002YAA",
                                                                          "nobody@acme.com": None}
    assert client.resolve(USER, "admin@acme.com") == "005SB0000000002YAA"
    assert client.rest.queries == [("SELECT Id, Username FROM User WHERE Username IN ('admin@acme.com', "
                                    "'nobody@acme.com')", False)]
    assert client.name_of(USER, "005SB0000000002") == "admin@acme.com"


def test_org_id_without_an_api_call():
    assert client_with([], {"id": "https://login.salesforce.com/id/00DSB00000000012AA/005SB0000000001YAA"}).org_id() \
        == ORG
    client = client_with([], token="00DSB0000000001!AQxyz")
    assert client.org_id() == ORG and client.rest.queries == []
    client = client_with([{"Id": ORG}], token="opaque")
    assert client.org_id() == ORG and len(client.rest.queries) == 1


@pytest.mark.parametrize("name, ok", [("authentik", True), ("Authentik_SSO_2", True), ("2fa", False),
                                      ("a__b", False), ("ends_", False), ("with space", False), ("a" * 81, False)])
def test_api_names(name, ok):
    if ok:
        check_api_name(name, "name")
    else:
        with pytest.raises(EngineError, match="name .* is not a valid API name"):
            check_api_name(name, "name")


@pytest.mark.parametrize("current, desired, equal", [
    (USER_ID[:15], USER_ID, True), (USER_ID, USER_ID[:15], True), (None, "", True), ("005SB0000000002", USER_ID, False),
    ("<admin>", "<admin>", True), (None, USER_ID, False)])
def test_ids_compared_15_or_18(current, desired, equal):
    assert same_record(current, desired) is equal


# -- Off the happy path (issue 9) ---------------------------------------------------------------------------------

HOSTILE_NAMES = ["other/../victim", "a?b", "a#b", "a%2Fb", "..", "with space", " lead", "tab\tname", "nul\x00",
                 "a/b", ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("resource_class, extra", [
    (saml_module.SamlSsoConfig, {}), (eca_module.ExternalClientApp, {}),
    (saml_module.SamlSsoConfig, {"state": "absent"}), (eca_module.ExternalClientApp, {"state": "absent"}),
])
def test_api_names_refused_before_any_call(resource_class, extra, name):
    metadata = FakeMetadata()
    with pytest.raises(EngineError, match=r"^name .* is not a valid API name"):
        run(resource_class, metadata, name=name, **extra)
    assert metadata.calls == []


@pytest.mark.parametrize("params, message", [
    (dict(request_signing_certificate="../Other_Cert"), "request_signing_certificate '../Other_Cert' is not a valid"),
    (dict(jit_provisioning="custom", jit_handler="Handler", jit_run_as=" admin@acme.com"), "jit_run_as .* leading"),
    (dict(idp_logout_url="javascript:alert(1)"), "idp_logout_url must be an absolute http"),
    (dict(entity_id="acme.my.salesforce.com"), "entity_id must be an absolute http"),
])
def test_saml_identifiers_and_urls_refused_before_any_call(params, message):
    metadata = FakeMetadata(stored_config())
    client_ids = {"Other_Cert": CERT_ID}
    with pytest.raises(EngineError, match=message):
        run(saml_module.SamlSsoConfig, metadata, ids=client_ids, name="authentik", **params)
    assert metadata.calls == []


@pytest.mark.parametrize("params, message", [
    (dict(callback_urls=["authentik.company/callback"]), "callback_urls must be an absolute http"),
    (dict(callback_urls=["https://a.example/cb?x=1,2"]), "contains a comma; Salesforce splits callback URLs"),
    (dict(scopes=["api,openid"]), "is not one scope name"),
    (dict(client_credentials_user="admin@acme.com\n"), "client_credentials_user .* trailing whitespace"),
])
def test_eca_values_refused_before_any_call(params, message):
    metadata = created_app()
    with pytest.raises(EngineError, match=message):
        run(eca_module.ExternalClientApp, metadata, **dict(APP, **params))
    assert metadata.calls == []


class TrimmingMetadata(FakeMetadata):
    """Stores string values trimmed, as Salesforce does on save (createMetadata() documentation)."""

    def _store(self, operation, type_name, component):
        super()._store(operation, type_name, component)
        record = self.records[(type_name, component["fullName"])]
        for key, value in record.items():
            if isinstance(value, str):
                record[key] = value.strip()


def test_values_salesforce_trims_converge():
    metadata = TrimmingMetadata()
    params = dict(GUIDE)
    params.update(issuer="https://authentik.company ", label=" authentik SSO ")
    first, _resource = run(saml_module.SamlSsoConfig, metadata, **params)
    assert first["changed"] and metadata.records[("SamlSsoConfig", "authentik")]["issuer"] == \
        "https://authentik.company"
    metadata.calls.clear()
    again, _resource = run(saml_module.SamlSsoConfig, metadata, **params)
    assert not again["changed"] and metadata.writes() == []


def test_eca_callback_urls_compared_as_urls_and_label_trimmed():
    metadata = created_app()
    params = dict(APP)
    params.update(callback_urls=["HTTPS://Authentik.Company/source/oauth/callback/salesforce/"], label="authentik ")
    result, _resource = run(eca_module.ExternalClientApp, metadata, **params)
    assert not result["changed"] and metadata.writes() == []


SSO_KEY = ("SecuritySettings", "Security")


class RacingMetadata(FakeMetadata):
    """Another run writes its whole block, from a read made before ours wrote, just before our call `at`."""

    def __init__(self, records, stale_block, at):
        super().__init__(records)
        self.stale_block = stale_block
        self.at = set(at)
        self.count = 0

    def _other_run(self):
        if self.count in self.at:
            self.records[SSO_KEY]["singleSignOnSettings"] = dict(self.stale_block)
        self.count += 1

    def read(self, type_name, name):
        self._other_run()
        return super().read(type_name, name)

    def update(self, type_name, component):
        self._other_run()
        super().update(type_name, component)


def stale_case_insensitive():
    """The other run: read before our write (SAML off), turns case-insensitive Federation IDs on."""
    return dict(security()[SSO_KEY]["singleSignOnSettings"], enableCaseInsensitiveFederationID=True)


@pytest.mark.parametrize("at", [
    [2],  # its write lands between ours and our read back
    [3],  # after our read back, before the confirming read
])
def test_sso_settings_change_survives_a_concurrent_run(at):
    del PAUSES[:]
    metadata = RacingMetadata(security(), stale_case_insensitive(), at)
    result, _resource = run(sso_module.SsoSettings, metadata, saml_enabled=True)
    block = metadata.records[SSO_KEY]["singleSignOnSettings"]
    assert block["enableSamlLogin"] is True  # ours, written again on top of theirs
    assert block["enableCaseInsensitiveFederationID"] is True  # theirs, kept by the merge
    assert result["changed"] and result["sso_settings"]["enableSamlLogin"] is True
    assert [operation for operation, _type, _c in metadata.writes()] == ["update", "update"]
    assert PAUSES and all(0.5 <= pause <= 10 for pause in PAUSES)


def test_sso_settings_fail_rather_than_report_a_lost_change():
    metadata = RacingMetadata(security(), stale_case_insensitive(), at=range(1, 40))
    with pytest.raises(EngineError, match=r"overwrote this one 3 times in a row \(now saml_enabled is false\); "
                                          r"not reported as done"):
        run(sso_module.SsoSettings, metadata, saml_enabled=True)
    assert len(metadata.writes()) == 3


def test_sso_settings_two_runs_at_once_against_the_sandbox(sandbox_server):
    """Both runs read before either writes (a barrier), then both write their whole block: neither change is lost."""
    import threading

    from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession

    url = sandbox_server("salesforce", config={"client_id": "3MVG9race", "client_secret": "race-secret"})
    import requests

    requests.post(url + "/_sandbox/reset", timeout=30).raise_for_status()
    barrier = threading.Barrier(2, timeout=60)
    results, errors = {}, []

    def one_run(option):
        resource = sso_module.SsoSettings()
        resource.module = FakeModule()
        resource.params = dict({name: None for name in resource.argument_spec()}, force=False, **{option: True})
        session = SalesforceSession.from_params({"instance_url": url, "client_id": "3MVG9race",
                                                 "client_secret": "race-secret", "api_version": "63.0"})
        resource.client = SalesforceClient(session)
        find = resource.find
        first = []

        def find_then_wait():
            view = find()
            if not first:
                first.append(view)
                barrier.wait()
            return view

        resource.find = find_then_wait
        try:
            results[option] = resource.reconcile()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_run, args=(option,))
               for option in ("saml_enabled", "case_insensitive_federation_id")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    state = requests.get(url + "/_sandbox/state", timeout=30).json()
    block = state["metadata"]["SecuritySettings"]["Security"]["singleSignOnSettings"]
    assert (block["enableSamlLogin"], block["enableCaseInsensitiveFederationID"]) == ("true", "true")
    assert results["saml_enabled"]["changed"] and results["case_insensitive_federation_id"]["changed"]
    writes = [entry for entry in requests.get(url + "/_sandbox/requests", timeout=30).json()
              if entry.get("operation") == "updateMetadata"]
    assert len(writes) == 3  # one each, and the loser's merge


# -- Whole module runs (SafeModule): what reaches the output ------------------------------------------------------

SECRET = "cc-s3cr3t-value"
OBTAINED = "00DSB0000000001!obtained.access.token"


def token_answer(token=OBTAINED):
    import requests

    answer = requests.Response()
    answer.status_code = 200
    answer._content = json.dumps({"access_token": token, "instance_url": "https://acme.example",
                                  "id": "https://login.example/id/00DSB0000000001AAA/005SB0000000001AAA",
                                  "token_type": "Bearer"}).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


def json_answer(status, body):
    import requests

    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


def run_main(monkeypatch, capsys, module, args, answers=()):
    import requests
    from ansible.module_utils import basic
    from ansible.module_utils.common import warnings as ansible_warnings

    answers, sent = list(answers), []

    def request(session, method, url, **kwargs):
        sent.append((method, url, kwargs))
        assert answers, "unexpected request %s %s" % (method, url)
        return answers.pop(0)

    monkeypatch.setattr(requests.Session, "request", request)
    payload = dict({"instance_url": "https://acme.example", "client_id": "3MVG9key", "client_secret": SECRET,
                    "api_version": "63.0"}, **args)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    getattr(ansible_warnings, "_global_warnings", {}).clear()
    with pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    assert SECRET not in out and "Traceback" not in out
    return json.loads(out), sent, out


def test_salesforce_login_returns_the_token_it_obtained(monkeypatch, capsys):
    from ansible_collections.sso.authentik.plugins.modules import salesforce_login

    result, sent, _out = run_main(monkeypatch, capsys, salesforce_login, {}, [token_answer()])
    assert not result.get("failed"), result
    assert result["access_token"] == OBTAINED  # the one result meant to carry it (the task is no_log)
    assert result["org_id"][:15] == "00DSB0000000001" and len(sent) == 1


def test_salesforce_login_masks_the_token_in_its_messages(monkeypatch, capsys):
    from ansible_collections.sso.authentik.plugins.modules import salesforce_login

    echo = json_answer(400, [{"errorCode": "X", "message": "not for " + OBTAINED}])
    result, _sent, out = run_main(monkeypatch, capsys, salesforce_login, {"api_version": None},
                                  [token_answer(), echo])
    assert result["failed"] and OBTAINED not in out and "not for ********" in result["msg"]


def test_org_info_masks_the_obtained_token_and_warns_of_cleartext(monkeypatch, capsys):
    from ansible_collections.sso.authentik.plugins.modules import salesforce_org_info

    echo = json_answer(400, [{"errorCode": "MALFORMED_QUERY", "message": "token " + OBTAINED}])
    result, _sent, out = run_main(monkeypatch, capsys, salesforce_org_info,
                                  {"instance_url": "http://acme.example", "users": ["a@b.c"]}, [token_answer(), echo])
    assert result["failed"] and OBTAINED not in out and "token ********" in result["msg"]
    ok, _sent, _out = run_main(monkeypatch, capsys, salesforce_org_info, {"instance_url": "http://acme.example"},
                               [token_answer()])
    assert "plain http:// to acme.example" in json.dumps(ok.get("warnings")), json.dumps(ok)


@pytest.mark.parametrize("args, words", [
    ({"certificates": ["../Cert"]}, "certificates '../Cert' is not a valid API name"),
    ({"users": ["admin@acme.com "]}, "users 'admin@acme.com ' has leading or trailing whitespace"),
    ({"profiles": ["Standard\x00User"]}, "profiles contains a control character"),
])
def test_org_info_names_refused_before_any_request(monkeypatch, capsys, args, words):
    from ansible_collections.sso.authentik.plugins.modules import salesforce_org_info

    result, sent, _out = run_main(monkeypatch, capsys, salesforce_org_info, args)
    assert result["failed"] and words in result["msg"] and sent == []
