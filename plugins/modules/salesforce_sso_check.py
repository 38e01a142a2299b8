#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_sso_check
short_description: Compare an authentik SAML provider with the Salesforce SAML SSO configuration that trusts it
version_added: 0.1.0
description:
  - Reads both sides as they are now and lists in RV(mismatches) what must agree for a Salesforce login through
    authentik to work and does not - the signing certificate, the issuer, the audience (entity ID), the SSO URL,
    the ACS URL, the identity type (Federation ID, with Just-in-Time provisioning), and when given the Just-in-Time
    provisioning mode and the profile id that the C(User.ProfileId) attribute carries.
  - With O(preview_user), also checks the assertion authentik would send for that user - every attribute
    standard Just-in-Time provisioning reads is there and not empty, the NameID is the Federation ID, and the
    profile id is the expected one.
  - Usable on its own after a set-up made by hand, and by the role
    R(sso.authentik.salesforce_sso,ansible_collections.sso.authentik.salesforce_sso_role) after its
    writes. It changes nothing on either side.
  - A side that does not exist (yet) is reported in RV(exists) and nothing is compared.
options:
  provider:
    description: Name of the authentik SAML provider. It must be used by an application, since its URLs come from
      the application.
    type: str
    required: true
  saml_config:
    description: API name of the Salesforce SAML SSO configuration.
    type: str
    required: true
  profile:
    description:
      - The profile Just-in-Time provisioning gives new users, by name (V(Standard User)) or id (V(00e...)).
      - When given, the profile id that authentik's C(User.ProfileId) mapping returns (when it returns a literal
        id) or, with O(preview_user), the one in the previewed assertion must be its id.
    type: str
  jit_provisioning:
    description: The Just-in-Time provisioning mode Salesforce should have; not compared when not given.
    type: str
    choices: [disabled, standard, custom]
  preview_user:
    description: Username of an authentik user whose assertion to check.
    type: str
  fail_on_mismatch:
    description: Fail when there is a mismatch, with every one in the message (and in RV(mismatches)).
    type: bool
    default: false
  authentik:
    description: The connection to authentik, with the options of the authentik modules.
    type: dict
    default: {}
    suboptions:
      url:
        description:
          - Base URL of the authentik server, for example V(https://authentik.company).
          - If not set, the value of the E(AUTHENTIK_URL) environment variable is used.
        type: str
        required: true
      token:
        description:
          - An authentik API token allowed to read providers, property mappings, certificates and users.
          - If not set, the value of the E(AUTHENTIK_TOKEN) environment variable is used.
        type: str
        required: true
      validate_certs:
        description:
          - Verify the server's TLS certificate.
          - If not set, the value of the E(AUTHENTIK_VALIDATE_CERTS) environment variable is used.
        type: bool
        default: true
      ca_path:
        description:
          - PEM file of the certificate authorities to trust for the server's certificate.
          - If not set, the value of the E(AUTHENTIK_CA_PATH) environment variable is used.
        type: path
      timeout:
        description:
          - Seconds to wait for each answer.
          - If not set, the value of the E(AUTHENTIK_TIMEOUT) environment variable is used.
        type: int
        default: 30
      retries:
        description:
          - How many times a request is tried again after a connection error, HTTP 429, 502, 503 or 504.
          - If not set, the value of the E(AUTHENTIK_RETRIES) environment variable is used.
        type: int
        default: 4
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.attributes.info
  - sso.authentik.attributes.salesforce
notes:
  - Calls - on authentik, the provider, its signing certificate, and the C(User.ProfileId) mapping (with
    O(profile)) or the preview (with O(preview_user)); on Salesforce, the login (none with O(access_token)), one
    C(readMetadata), and one SOQL query for O(profile) given by name.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Does the hand-made set-up work?
  sso.authentik.salesforce_sso_check:
    provider: Salesforce
    saml_config: authentik
    profile: Standard User
    preview_user: jdoe
    authentik:
      url: https://authentik.company
      token: "{{ authentik_token }}"
  register: check

- name: What disagrees
  ansible.builtin.debug:
    msg: "{{ item.what }}: authentik has {{ item.authentik }}, Salesforce {{ item.salesforce }}"
  loop: "{{ check.mismatches }}"
"""

RETURN = r"""
mismatches:
  description: What disagrees, in the order above; empty when both sides agree or one is missing.
  returned: always
  type: list
  elements: dict
  contains:
    what:
      description: What is compared.
      type: str
      sample: signing certificate
    authentik:
      description: The value on the authentik side.
      type: str
    salesforce:
      description: The value on the Salesforce side (or what Salesforce requires).
      type: str
  sample: [{what: issuer, authentik: "https://authentik.company", salesforce: "https://idp.company"}]
exists:
  description: Whether each side exists; nothing is compared unless both do.
  returned: always
  type: dict
  contains:
    authentik:
      description: The SAML provider exists and is used by an application.
      type: bool
    salesforce:
      description: The SAML SSO configuration exists.
      type: bool
  sample: {authentik: true, salesforce: true}
idp:
  description: What authentik serves, as M(sso.authentik.saml_provider_info) returns it (without the metadata).
  returned: when the authentik side exists
  type: dict
  contains:
    sso_url_post:
      description: SSO URL for the HTTP-POST binding.
      type: str
    issuer:
      description: The issuer authentik puts in its assertions.
      type: str
    signing_certificate_fingerprint:
      description: SHA-256 fingerprint of the signing certificate.
      type: str
acs_url:
  description: The Salesforce Login URL, where authentik must post the assertions (the ACS URL it is compared with).
  returned: when the Salesforce side exists
  type: str
  sample: https://company.my.salesforce.com?so=00D5g000004Ab1C
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: always
  type: dict
"""

from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._authentik import (
    AuthentikClient, authentik_argument_spec)
from ansible_collections.sso.authentik.plugins.module_utils._authentik_saml import (
    describe, find_provider, mapping_expression)
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import PROFILE, SalesforceInfo
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import is_salesforce_id, same_id

# The attributes standard Just-in-Time provisioning reads from the assertion.
JIT_ATTRIBUTES = ("User.Username", "User.Email", "User.LastName", "User.ProfileId", "User.FederationIdentifier")


def profile_id_in(expression):
    """The profile id an expression like `return "00e..."` returns; None for any other expression (only the
    preview can tell what that returns)."""
    text = (expression or "").strip()
    for quote in ('"', "'"):
        if text.startswith("return " + quote) and text.endswith(quote) and is_salesforce_id(text[8:-1]):
            return text[8:-1]
    return None


def same_value(authentik, salesforce):
    if is_salesforce_id(authentik) and is_salesforce_id(salesforce):
        return same_id(authentik, salesforce)
    return (authentik or "") == (salesforce or "")


def jit_mode(record):
    if not record.get("userProvisioning"):
        return "disabled"
    return "custom" if record.get("samlJitHandlerId") else "standard"


def compare(params, idp, record, login_url, profile_id, expression):
    provider = idp["provider"]
    sf_certificate = record.get("validationCert") or ""
    checks = [
        ("signing certificate", idp["signing_certificate"], sf_certificate, crypto.same_certificate),
        ("issuer", idp["issuer"], record.get("issuer"), None),
        ("audience / entity ID", provider.get("audience"), record.get("samlEntityId"), None),
        ("SSO URL", idp["sso_url_post"], record.get("loginUrl"), None),
        ("ACS URL", provider.get("acs_url"), login_url, None),
    ]
    if params["jit_provisioning"] in ("standard", "custom") or jit_mode(record) != "disabled":
        # Just-in-Time provisioning matches and creates users by their Federation ID
        checks.append(("identity type", "FederationId", record.get("identityMapping"), None))
    if params["jit_provisioning"]:
        checks.append(("Just-in-Time provisioning", params["jit_provisioning"], jit_mode(record), None))
    if profile_id and "preview" not in idp and profile_id_in(expression) is not None:
        checks.append(("profile id of User.ProfileId", profile_id_in(expression), profile_id, None))
    mismatches = []
    for what, on_authentik, on_salesforce, same in checks:
        if not (same or same_value)(on_authentik, on_salesforce):
            if same is crypto.same_certificate:  # certificates are shown by their fingerprints
                on_authentik = crypto.pem_fingerprint(on_authentik) if on_authentik else ""
                on_salesforce = crypto.pem_fingerprint(on_salesforce) if on_salesforce else ""
            mismatches.append({"what": what, "authentik": on_authentik or "", "salesforce": on_salesforce or ""})
    if "preview" in idp:
        mismatches.extend(check_preview(params["preview_user"], idp["preview"], profile_id))
    return mismatches


def check_preview(user, preview, profile_id):
    """What would keep Salesforce from provisioning `user` from the assertion authentik would send."""
    attributes = preview["attributes"]
    found = []
    for name in JIT_ATTRIBUTES:
        if not attributes.get(name):
            found.append({"what": "%s in the assertion for %s" % (name, user), "authentik": "(missing or empty)",
                          "salesforce": "required by Just-in-Time provisioning"})
    federation_id = attributes.get("User.FederationIdentifier")
    if federation_id and preview["name_id"] != federation_id:
        found.append({"what": "NameID of the assertion for %s (the Federation ID it logs in with)" % user,
                      "authentik": preview["name_id"] or "", "salesforce": federation_id})
    profile = attributes.get("User.ProfileId")
    if profile and profile_id and not same_value(profile, profile_id):
        found.append({"what": "User.ProfileId in the assertion for %s" % user, "authentik": profile,
                      "salesforce": profile_id})
    return found


class SsoCheck(SalesforceInfo):
    fields = (
        Field("provider", required=True, check="identifier"),
        Field("saml_config", required=True, check="api_name"),
        Field("profile", check="identifier"),
        Field("jit_provisioning", choices=["disabled", "standard", "custom"]),
        Field("preview_user", check="identifier"),
        Field("fail_on_mismatch", type="bool", default=False),
    )
    extra_options = {"authentik": dict(type="dict", default={}, options=authentik_argument_spec(),
                                       apply_defaults=True)}
    import_errors = SalesforceInfo.import_errors + (("cryptography", crypto.CRYPTOGRAPHY_IMPORT_ERROR),)

    def gather(self):
        params, salesforce = self.params, self.client
        authentik = AuthentikClient.from_params(params["authentik"], scrubber=self.module.scrubber)
        provider = find_provider(authentik, params["provider"])
        exists = {"authentik": bool(provider and provider.get("assigned_application_slug"))}
        result = {"mismatches": [], "exists": exists}
        if exists["authentik"]:
            result["idp"] = describe(authentik, provider, params["preview_user"], metadata=False)
        record = salesforce.metadata.read("SamlSsoConfig", params["saml_config"])
        exists["salesforce"] = record is not None
        if record is not None:
            result["acs_url"] = record.get("salesforceLoginUrl") or "%s?so=%s" % (
                salesforce.instance_url, salesforce.org_id()[:15])
        if exists["authentik"] and exists["salesforce"]:
            profile_id, expression = None, None
            if params["profile"]:
                # An id is compared as given; a name costs one SOQL query.
                profile_id = params["profile"] if PROFILE.is_id(params["profile"]) \
                    else salesforce.resolve(PROFILE, params["profile"])
                if profile_id is None:
                    raise SalesforceError("profile %r (option profile) does not exist in the org." % params["profile"])
                if not params["preview_user"]:
                    expression = mapping_expression(authentik, provider, "User.ProfileId")
            result["mismatches"] = compare(params, result["idp"], record, result["acs_url"], profile_id, expression)
        self.warnings.extend(authentik.warnings)
        if params["fail_on_mismatch"] and result["mismatches"]:
            raise EngineError("authentik and Salesforce disagree: %s" % "; ".join(
                "%(what)s (authentik: %(authentik)s, Salesforce: %(salesforce)s)" % item
                for item in result["mismatches"]), mismatches=result["mismatches"], exists=exists)
        return result


def main():
    SsoCheck().run()


if __name__ == "__main__":
    main()
