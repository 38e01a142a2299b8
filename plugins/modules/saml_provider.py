#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: saml_provider
short_description: Manage SAML providers in authentik
version_added: 0.1.0
description:
  - Create, update or delete an authentik SAML provider, the identity-provider side of a SAML service provider
    such as Salesforce.
  - The provider is found by its exact O(name) (unique among all providers). Flows are given by slug,
    certificates by name, property mappings by name or by managed id (for example
    V(goauthentik.io/providers/saml/email)).
  - O(issuer) is sent as C(issuer) to authentik before 2026.5 and as C(issuer_override) from 2026.5 on, where
    the field was renamed.
  - Whenever the signing certificate is sent, O(sign_assertion) and O(sign_response) go in the same request,
    as authentik requires.
options:
  name:
    description: Name of the provider; identifies it.
    type: str
    required: true
  authorization_flow:
    description:
      - Slug of the flow that authorizes users, for example V(default-provider-authorization-implicit-consent).
      - Required to create the provider.
    type: str
  invalidation_flow:
    description: Slug of the flow run when the user logs out (required by authentik since 2024.10).
    type: str
    default: default-provider-invalidation-flow
  authentication_flow:
    description: Slug of a flow to authenticate users who are not logged in yet. An empty string unsets it.
    type: str
  acs_url:
    description:
      - Assertion Consumer Service URL of the service provider; for Salesforce the login URL of its SAML SSO
        configuration (V(https://company.my.salesforce.com?so=00D...)).
      - Must be an absolute http(s) URL (checked before any request); it cannot be emptied. Required to create the
        provider.
    type: str
  issuer:
    description:
      - Issuer (entity ID) of authentik in the assertions; the service provider must expect the same string.
      - authentik stores text options without leading and trailing whitespace; they are compared that way.
    type: str
  audience:
    description: Audience restriction of the assertions; Salesforce checks it against its entity ID.
    type: str
  sp_binding:
    description: How authentik sends the response to the service provider.
    type: str
    choices: [post, redirect]
  signing_certificate:
    description: Name of the certificate key pair that signs the assertions. An empty string unsets it.
    type: str
  verification_certificate:
    description: Name of the certificate that verifies signed requests of the service provider.
    type: str
  encryption_certificate:
    description: Name of the certificate whose key encrypts the assertions.
    type: str
  sign_assertion:
    description: Sign the assertion. Sent with every change of O(signing_certificate) (default V(true) on creation).
    type: bool
  sign_response:
    description: Sign the whole response. Sent with every change of O(signing_certificate) (default V(false) on
      creation).
    type: bool
  name_id_mapping:
    description: Property mapping (name or managed id) whose value is the NameID. Empty uses the default.
    type: str
  property_mappings:
    description: Property mappings (names or managed ids) that produce the attributes; replaces the list.
    type: list
    elements: str
  digest_algorithm:
    description: Digest algorithm of the signatures.
    type: str
    choices: [sha1, sha256, sha384, sha512]
  signature_algorithm:
    description: Signature algorithm.
    type: str
    choices: [rsa-sha1, rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha1, ecdsa-sha256, ecdsa-sha384, ecdsa-sha512,
              dsa-sha1]
  assertion_valid_not_before:
    description: Start of assertion validity relative to now, for example V(minutes=-5).
    type: str
  assertion_valid_not_on_or_after:
    description: End of assertion validity relative to now, for example V(minutes=5).
    type: str
  session_valid_not_on_or_after:
    description: Session validity, for example V(minutes=86400).
    type: str
  default_relay_state:
    description: Relay state for IdP-initiated logins.
    type: str
  sls_url:
    description: Single logout service URL of the service provider (absolute http(s) URL).
    type: str
  sls_binding:
    description: Binding of single logout.
    type: str
    choices: [post, redirect]
  sign_logout_request:
    description: Sign logout requests.
    type: bool
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.resource
  - sso.authentik.attributes
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: The SAML provider of the Salesforce guide
  sso.authentik.saml_provider:
    name: Salesforce
    authorization_flow: default-provider-authorization-implicit-consent
    acs_url: https://company.my.salesforce.com?so=00D5g000004Ab1C
    issuer: https://authentik.company
    audience: https://company.my.salesforce.com
    sp_binding: post
    signing_certificate: authentik Self-signed Certificate
    sign_assertion: true
    name_id_mapping: goauthentik.io/providers/saml/email
    property_mappings:
      - "Salesforce: Username"
      - "Salesforce: Email"
      - "Salesforce: Last Name"
      - "Salesforce: Profile ID"
      - "Salesforce: Federation ID"
"""

RETURN = r"""
provider:
  description:
    - The provider as authentik stores it (empty after a deletion), with its read-only URLs (C(url_sso_post),
      ...; C(-) while no application uses the provider).
  returned: always
  type: dict
  sample:
    pk: 7
    name: Salesforce
    acs_url: https://company.my.salesforce.com?so=00D5g000004Ab1C
    sp_binding: post
    url_sso_post: https://authentik.company/application/saml/salesforce/sso/binding/post/
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field, Ref, check_http_url

FLOWS = Ref("/flows/instances/", "flow", by="slug")
CERTIFICATES = Ref("/crypto/certificatekeypairs/", "certificate key pair")
MAPPINGS = Ref("/propertymappings/provider/saml/", "SAML property mapping", managed_prefix="goauthentik.io/")
DIGESTS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
SIGNATURES = {name: "http://www.w3.org/%s#%s" % ("2000/09/xmldsig" if name in ("rsa-sha1", "dsa-sha1")
                                                 else "2001/04/xmldsig-more", name)
              for name in ("rsa-sha1", "rsa-sha256", "rsa-sha384", "rsa-sha512", "ecdsa-sha1", "ecdsa-sha256",
                           "ecdsa-sha384", "ecdsa-sha512", "dsa-sha1")}


def check_acs_url(value, option):
    if value == "":
        raise EngineError("%s must not be empty: authentik sends every assertion to it." % option)
    check_http_url(value, option)


class SAMLProvider(AuthentikResource):
    what = "SAML provider"
    path = "/providers/saml/"
    result_key = "provider"
    fields = (
        Field("name", required=True, check="identifier"),
        Field("authorization_flow", ref=FLOWS, check="slug"),
        Field("invalidation_flow", ref=FLOWS, default="default-provider-invalidation-flow", check="slug"),
        Field("authentication_flow", ref=FLOWS, check="slug"),
        Field("acs_url", check=check_acs_url),
        Field("issuer", renamed={(2026, 5): "issuer_override"}),
        Field("audience"),
        Field("sp_binding", choices=["post", "redirect"]),
        Field("signing_certificate", api="signing_kp", ref=CERTIFICATES, check="identifier"),
        Field("verification_certificate", api="verification_kp", ref=CERTIFICATES, check="identifier"),
        Field("encryption_certificate", api="encryption_kp", ref=CERTIFICATES, check="identifier"),
        Field("sign_assertion", type="bool"),
        Field("sign_response", type="bool"),
        Field("name_id_mapping", ref=MAPPINGS, check="identifier"),
        Field("property_mappings", type="list", elements="str", ref=MAPPINGS, check="identifier"),
        Field("digest_algorithm", choices=list(DIGESTS), values=DIGESTS),
        Field("signature_algorithm", choices=list(SIGNATURES), values=SIGNATURES),
        Field("assertion_valid_not_before"),
        Field("assertion_valid_not_on_or_after"),
        Field("session_valid_not_on_or_after"),
        Field("default_relay_state"),
        Field("sls_url", check="http_url"),
        Field("sls_binding", choices=["post", "redirect"]),
        Field("sign_logout_request", type="bool"),
    )
    required_on_create = ("authorization_flow", "acs_url")

    def complete_payload(self, payload, current):
        # authentik refuses a signing key pair unless the signing flags come in the same request.
        if payload.get("signing_kp"):
            for flag, default in (("sign_assertion", True), ("sign_response", False)):
                if flag not in payload:
                    given = self.params[flag]
                    payload[flag] = given if given is not None else (current or {}).get(flag, default)
        return payload


def main():
    SAMLProvider().run()


if __name__ == "__main__":
    main()
