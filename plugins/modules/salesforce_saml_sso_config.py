#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_saml_sso_config
short_description: Manage a SAML Single Sign-On configuration of a Salesforce org
version_added: 0.1.0
description:
  - Create, update or delete a SAML Single Sign-On setting (Metadata API type C(SamlSsoConfig)) of a Salesforce org,
    for example the one that makes authentik the org's identity provider, with Just-in-Time user provisioning.
  - The configuration is found by its API name O(name). Only the options given are compared and changed; fields that
    Salesforce generates (the Salesforce login URL RV(salesforce_login_url), the OAuth token endpoint) never cause a
    change.
  - The identity provider certificate is given as PEM, sent as Salesforce stores it (the base64 DER body) and
    compared by its content, so a differently wrapped copy is no change.
  - The Metadata API replaces a configuration with what it is sent, so an update sends the whole configuration as
    read, with the changed fields.
  - Single sign-on with SAML must be enabled in the org too, see M(sso.authentik.salesforce_sso_settings).
  - Salesforce trims leading and trailing whitespace of text values when it saves them; the module compares and
    sends them trimmed, so such a value converges instead of being written on every run.
options:
  name:
    description:
      - API name of the configuration (C(fullName); letters, digits and single underscores, a letter first, at most
        80 characters), for example V(authentik). Anything else is refused before any request.
    type: str
    required: true
  label:
    description:
      - The name shown in Setup. Defaults to O(name) when the configuration is created.
    type: str
  issuer:
    description:
      - The identity provider's entity ID, the C(Issuer) of its SAML responses; with authentik, the SAML
        provider's issuer, for example V(https://authentik.company).
      - Required to create the configuration.
    type: str
  idp_certificate:
    description:
      - The identity provider's signing certificate, PEM text (for example the authentik provider's signing
        certificate). Checked before any request; an expired certificate is refused.
      - Required to create the configuration.
    type: str
  idp_login_url:
    description:
      - Where Salesforce sends SP-initiated login requests (the Identity Provider Login URL), for example
        V(https://authentik.company/application/saml/salesforce/sso/binding/post/). An absolute http(s) URL.
    type: str
  idp_logout_url:
    description: Where users go after they log out of Salesforce (the Identity Provider Logout URL). An absolute
      http(s) URL.
    type: str
  entity_id:
    description:
      - Salesforce's own entity ID, which is also the audience it expects in SAML responses.
      - Defaults to O(instance_url), the org's My Domain URL, as Salesforce recommends. An absolute http(s) URL.
    type: str
  identity_type:
    description:
      - What the assertion's identity is matched against (SAML Identity Type). V(federation_id) is the
        Federation ID of the user, V(username) the Salesforce username, V(user_id) the Salesforce user id.
      - Just-in-Time provisioning requires V(federation_id), which is then the default; any other value with
        O(jit_provisioning=standard) or O(jit_provisioning=custom) is refused before any request.
      - Defaults to V(federation_id) when the configuration is created.
    type: str
    choices: [username, federation_id, user_id]
  identity_location:
    description:
      - Where the identity is in the assertion (SAML Identity Location). V(subject) is the NameID of the subject,
        V(attribute) an attribute named O(attribute_name).
      - Defaults to V(subject) when the configuration is created.
    type: str
    choices: [subject, attribute]
  attribute_name:
    description: The SAML attribute that carries the identity. Required with O(identity_location=attribute).
    type: str
  attribute_format:
    description: NameID format of that attribute, for example V(urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified).
    type: str
  sp_initiated_binding:
    description: The binding of the login requests Salesforce sends (Service Provider Initiated Request Binding).
    type: str
    choices: [post, redirect]
  request_signature_method:
    description:
      - How Salesforce signs its login requests. Salesforce may report V(RSA-SHA256) as V(1) and V(RSA-SHA1) as
        V(0); both spellings compare equal.
    type: str
    choices: [RSA-SHA1, RSA-SHA256]
  request_signing_certificate:
    description:
      - API name of the org's certificate (Setup, Certificate and Key Management) that signs the login requests,
        for example V(SelfSignedCert_01Jan2026). Checked as an API name before any request, then resolved to its
        id.
    type: str
  jit_provisioning:
    description:
      - Just-in-Time user provisioning. V(standard) creates and updates users from the assertion's C(User.*)
        attributes; V(custom) runs the Apex handler O(jit_handler) as the user O(jit_run_as); V(disabled) turns it
        off.
    type: str
    choices: [disabled, standard, custom]
  jit_handler:
    description: Name of the Apex class that implements C(Auth.SamlJitHandler), with O(jit_provisioning=custom).
    type: str
  jit_run_as:
    description: Username of the user who runs O(jit_handler), with O(jit_provisioning=custom). Resolved to its id.
    type: str
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.resource
  - sso.authentik.attributes
  - sso.authentik.attributes.salesforce
notes:
  - Calls per run (besides the login and, without O(api_version), the version discovery) - one read when nothing
    changes; one write and one read back otherwise; one SOQL query per name to resolve when a change needs it.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: authentik as identity provider, users created on their first login
  sso.authentik.salesforce_saml_sso_config:
    instance_url: https://acme.my.salesforce.com
    access_token: "{{ salesforce.access_token }}"
    name: authentik
    issuer: https://authentik.company
    idp_certificate: "{{ lookup('ansible.builtin.file', 'authentik-signing.pem') }}"
    idp_login_url: https://authentik.company/application/saml/salesforce/sso/binding/post/
    request_signature_method: RSA-SHA256
    identity_type: federation_id
    identity_location: subject
    sp_initiated_binding: post
    jit_provisioning: standard
  register: saml

- name: The ACS URL authentik needs
  ansible.builtin.debug:
    msg: "{{ saml.salesforce_login_url }}"

- name: Remove it
  sso.authentik.salesforce_saml_sso_config:
    name: authentik
    state: absent
"""

RETURN = r"""
saml_sso_config:
  description:
    - The configuration as Salesforce returns it (Metadata API field names; empty after a deletion), with
      C(requestSignatureMethod) normalised and C(jitProvisioning) derived.
  returned: always
  type: dict
  sample:
    fullName: authentik
    name: authentik
    issuer: https://authentik.company
    identityMapping: FederationId
    identityLocation: SubjectNameId
    loginUrl: https://authentik.company/application/saml/salesforce/sso/binding/post/
    redirectBinding: false
    requestSignatureMethod: RSA-SHA256
    samlEntityId: https://acme.my.salesforce.com
    samlVersion: SAML2_0
    userProvisioning: true
    jitProvisioning: standard
    validationCert: MIIC...
    salesforceLoginUrl: https://acme.my.salesforce.com?so=00D5g000004Ab1C
salesforce_login_url:
  description:
    - The Salesforce Login URL, which is the assertion consumer service (ACS) URL to give authentik. In check mode,
      before the configuration exists, it is predicted as C(<instance_url>?so=<org id>).
  returned: when O(state=present)
  type: str
  sample: https://acme.my.salesforce.com?so=00D5g000004Ab1C
entity_id:
  description: Salesforce's entity ID (the audience authentik must send).
  returned: when O(state=present)
  type: str
  sample: https://acme.my.salesforce.com
org_id:
  description: The org's 18-character id.
  returned: when O(state=present)
  type: str
  sample: 00D5g000004Ab1CEAS
org_id_15:
  description: The org's 15-character id (the one in the C(?so=) of the SAML login URL).
  returned: when O(state=present)
  type: str
  sample: 00D5g000004Ab1C
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: always
  type: dict
  sample: {calls: 3, retries: 0, logins: 1, api_usage: {used: 1042, limit: 15000}}
"""

from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import normalize_instance_url
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import (
    APEX_CLASS, CERTIFICATE, USER, SalesforceMetadataResource)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import is_salesforce_id, same_record, to_15

# What readMetadata may return for the request signature method (the numeric form is what deploy scripts send).
SIGNATURE_METHODS = {"1": "RSA-SHA256", "0": "RSA-SHA1"}


class SamlSsoConfig(SalesforceMetadataResource):
    what = "SAML SSO configuration"
    metadata_type = "SamlSsoConfig"
    result_key = "saml_sso_config"
    generated = ("salesforceLoginUrl", "oauthTokenEndpoint")
    fields = (
        Field("name", api="fullName", required=True, check="api_name"),
        Field("label", api="name"),
        Field("issuer"),
        Field("idp_certificate", api="validationCert", compare=crypto.same_certificate,
              format=crypto.pem_fingerprint),
        Field("idp_login_url", api="loginUrl", check="http_url"),
        Field("idp_logout_url", api="logoutUrl", check="http_url"),
        Field("entity_id", api="samlEntityId", check="http_url"),
        Field("identity_type", api="identityMapping", choices=["username", "federation_id", "user_id"],
              values={"username": "Username", "federation_id": "FederationId", "user_id": "UserId"}),
        Field("identity_location", api="identityLocation", choices=["subject", "attribute"],
              values={"subject": "SubjectNameId", "attribute": "Attribute"}),
        Field("attribute_name", api="attributeName"),
        Field("attribute_format", api="attributeNameIdFormat"),
        Field("sp_initiated_binding", api="redirectBinding", choices=["post", "redirect"],
              values={"post": False, "redirect": True}, compare=lambda cur, want: bool(cur) == bool(want),
              format=lambda value: "redirect" if value is True else "post" if value is False else value),
        Field("request_signature_method", api="requestSignatureMethod", choices=["RSA-SHA1", "RSA-SHA256"]),
        Field("request_signing_certificate", api="requestSigningCertId", ref=CERTIFICATE, compare=same_record,
              check="api_name"),
        Field("jit_provisioning", api="jitProvisioning", choices=["disabled", "standard", "custom"]),
        Field("jit_handler", api="samlJitHandlerId", check="identifier"),
        Field("jit_run_as", api="executionUserId", ref=USER, compare=same_record, check="identifier"),
    )
    required_on_create = ("issuer", "idp_certificate")
    required_if = (("jit_provisioning", "custom", ("jit_handler", "jit_run_as")),
                   ("identity_location", "attribute", ("attribute_name",)))
    import_errors = SalesforceMetadataResource.import_errors + (("cryptography", crypto.CRYPTOGRAPHY_IMPORT_ERROR),)

    def validate(self):
        params = self.params
        if self.state == "absent":
            return
        if params["idp_certificate"] is not None:
            crypto.check_not_expired(crypto.load_certificate(params["idp_certificate"], "idp_certificate"),
                                     "idp_certificate")
        if params["jit_provisioning"] in ("standard", "custom"):
            if params["identity_type"] not in (None, "federation_id"):
                raise EngineError("Just-in-Time provisioning (jit_provisioning=%s) requires identity_type "
                                  "federation_id, not %s." % (params["jit_provisioning"], params["identity_type"]))
            params["identity_type"] = "federation_id"
        if params["jit_provisioning"] != "custom" and (params["jit_handler"] or params["jit_run_as"]):
            raise EngineError("jit_handler and jit_run_as go with jit_provisioning=custom only.")
        if params["entity_id"] is None:
            params["entity_id"] = normalize_instance_url(params["instance_url"])

    def complete_payload(self, payload, current):
        if current is None:  # what Salesforce requires, with the values the guide uses
            for key, value in (("name", self.params["name"]), ("identityMapping", "FederationId"),
                               ("identityLocation", "SubjectNameId"), ("samlVersion", "SAML2_0")):
                payload.setdefault(key, value)
        return payload

    def from_metadata(self, record):
        view = dict(record)
        method = view.get("requestSignatureMethod")
        view["requestSignatureMethod"] = SIGNATURE_METHODS.get(method, method)
        view["redirectBinding"] = bool(view.get("redirectBinding"))
        view["userProvisioning"] = bool(view.get("userProvisioning"))
        handler = view.get("samlJitHandlerId")
        view["jitProvisioning"] = ("disabled" if not view["userProvisioning"] else "custom" if handler else "standard")
        if handler and self.params["jit_handler"] not in (None, handler) and is_salesforce_id(handler) \
                and handler.startswith("01p"):  # stored as the Apex class id: compare by its name
            view["samlJitHandlerId"] = self.client.name_by_id(APEX_CLASS, handler) or handler
        return view

    def to_metadata(self, values):
        jit = values.pop("jitProvisioning", None)
        if jit is not None:
            values["userProvisioning"] = jit != "disabled"
            if jit != "custom":
                values["samlJitHandlerId"] = values["executionUserId"] = None
        if values.get("validationCert"):
            values["validationCert"] = crypto.pem_body(values["validationCert"])
        for key in ("executionUserId", "requestSigningCertId"):
            if values.get(key):
                values[key] = to_15(values[key])  # the form every working example sends
        return values

    def extras(self, obj):
        org = self.client.org_id()
        login_url = obj.get("salesforceLoginUrl") or "%s?so=%s" % (self.client.instance_url, org[:15])
        return {"salesforce_login_url": login_url, "entity_id": obj.get("samlEntityId"), "org_id": org,
                "org_id_15": org[:15]}


def main():
    SamlSsoConfig().run()


if __name__ == "__main__":
    main()
