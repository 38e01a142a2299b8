#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: saml_property_mapping
short_description: Manage SAML provider property mappings in authentik
version_added: 0.1.0
description:
  - Create, update or delete a SAML provider property mapping, the Python expression that produces one SAML
    attribute of the assertion (for example V(User.Email) for Salesforce Just-in-Time provisioning).
  - The mapping is found by its exact O(name). Property mapping names are unique across all mapping types.
options:
  name:
    description: Name of the mapping; identifies it.
    type: str
    required: true
  saml_name:
    description:
      - The SAML attribute C(Name), for example V(User.Email).
      - Required to create the mapping.
    type: str
  friendly_name:
    description: The SAML attribute C(FriendlyName). An empty string removes it.
    type: str
  expression:
    description:
      - Python expression returning the attribute value, for example V(return request.user.email).
      - Its Python syntax is checked before any request. Required to create the mapping.
    type: str
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.resource
  - sso.authentik.attributes
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Salesforce JIT needs the e-mail as User.Email
  sso.authentik.saml_property_mapping:
    url: https://authentik.company
    token: "{{ authentik_token }}"
    name: "Salesforce: Email"
    saml_name: User.Email
    expression: return request.user.email

- name: Remove it
  sso.authentik.saml_property_mapping:
    name: "Salesforce: Email"
    state: absent
"""

RETURN = r"""
property_mapping:
  description: The mapping as authentik stores it (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 2f7e1a7c-3a53-4c1b-9f4f-2c1a9d0e6b11
    name: "Salesforce: Email"
    saml_name: User.Email
    friendly_name: null
    expression: return request.user.email
    managed: null
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource, check_expression
from ansible_collections.sso.authentik.plugins.module_utils._engine import Field


class SAMLPropertyMapping(AuthentikResource):
    what = "SAML property mapping"
    path = "/propertymappings/provider/saml/"
    result_key = "property_mapping"
    fields = (
        Field("name", required=True, check="identifier"),
        Field("saml_name"),
        Field("friendly_name"),
        Field("expression", check=check_expression),
    )
    required_on_create = ("saml_name", "expression")


def main():
    SAMLPropertyMapping().run()


if __name__ == "__main__":
    main()
