#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: saml_provider_info
short_description: Read what a service provider needs from an authentik SAML provider
version_added: 0.1.0
description:
  - Returns the SSO URLs (RV(sso_url_post), ...), the issuer (entity ID) as the server computes it (RV(issuer)),
    the metadata XML (RV(metadata)), and the signing certificate with its SHA-256 fingerprint
    (RV(signing_certificate), RV(signing_certificate_fingerprint)) of an authentik SAML provider; everything
    Salesforce's SAML SSO configuration asks for.
  - The provider must be used by an application, since its URLs and metadata come from the application.
  - With O(preview_user), also the NameID and attributes the provider would send for that user (RV(preview)), so
    that a play can check Just-in-Time provisioning attributes before anyone logs in.
options:
  name:
    description: Name of the SAML provider.
    type: str
    required: true
  preview_user:
    description: Username of an authentik user whose assertion to preview.
    type: str
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.attributes.info
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: What Salesforce needs
  sso.authentik.saml_provider_info:
    name: Salesforce
    preview_user: jdoe
  register: idp

- name: The Federation ID Salesforce will receive
  ansible.builtin.debug:
    msg: "{{ idp.preview.attributes['User.FederationIdentifier'] }}"
"""

RETURN = r"""
provider:
  description: The provider as authentik stores it.
  returned: success
  type: dict
application:
  description: Slug of the application that uses the provider.
  returned: success
  type: str
  sample: salesforce
sso_url_post:
  description: SSO URL for the HTTP-POST binding (Salesforce's Identity Provider Login URL).
  returned: success
  type: str
  sample: https://authentik.company/application/saml/salesforce/sso/binding/post/
sso_url_redirect:
  description: SSO URL for the HTTP-Redirect binding.
  returned: success
  type: str
sso_url_init:
  description: URL of IdP-initiated login.
  returned: success
  type: str
slo_url_post:
  description: Single logout URL for the HTTP-POST binding.
  returned: success
  type: str
issuer:
  description: The issuer (entity ID) authentik puts in its assertions.
  returned: success
  type: str
  sample: https://authentik.company
metadata:
  description: The IdP metadata XML.
  returned: success
  type: str
signing_certificate:
  description: The signing certificate, PEM; empty when the provider does not sign.
  returned: success
  type: str
signing_certificate_fingerprint:
  description: SHA-256 fingerprint of the signing certificate, colon-separated lowercase hex.
  returned: success
  type: str
preview:
  description: The assertion content for O(preview_user).
  returned: when O(preview_user) is set
  type: dict
  contains:
    name_id:
      description: The NameID value.
      type: str
    attributes:
      description: Attribute values by SAML attribute name (a list when an attribute has several values).
      type: dict
"""

from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikInfo
from ansible_collections.sso.authentik.plugins.module_utils._authentik_saml import describe, find_provider
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field


class SamlProviderInfo(AuthentikInfo):
    fields = (Field("name", required=True, check="identifier"), Field("preview_user", check="identifier"))
    import_errors = AuthentikInfo.import_errors + (("cryptography", crypto.CRYPTOGRAPHY_IMPORT_ERROR),)

    def gather(self):
        provider = find_provider(self.client, self.params["name"])
        if provider is None:
            raise EngineError("SAML provider %r does not exist." % self.params["name"])
        return describe(self.client, provider, self.params["preview_user"])


def main():
    SamlProviderInfo().run()


if __name__ == "__main__":
    main()
