#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: scim_property_mapping
short_description: Manage SCIM provider property mappings in authentik
version_added: 0.1.0
description:
  - Create, update or delete a SCIM provider property mapping, the Python expression that returns a fragment
    of the SCIM user or group sent to the service provider (for example Salesforce's C(entitlements) with the
    profile id).
  - The mapping is found by its exact O(name). Property mapping names are unique across all mapping types.
options:
  name:
    description: Name of the mapping; identifies it.
    type: str
    required: true
  expression:
    description:
      - 'Python expression returning a dictionary merged into the SCIM object, for example
        V(return {"userName": request.user.email}).'
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
- name: Salesforce SCIM userName from the e-mail address
  sso.authentik.scim_property_mapping:
    url: https://authentik.company
    token: "{{ authentik_token }}"
    name: "Salesforce SCIM: Username"
    expression: |
      return {"userName": request.user.email}
"""

RETURN = r"""
property_mapping:
  description: The mapping as authentik stores it (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 0c5e7f1e-6d0b-4b0e-9c55-41f9a7d2e001
    name: "Salesforce SCIM: Username"
    expression: 'return {"userName": request.user.email}'
    managed: null
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource, check_expression
from ansible_collections.sso.authentik.plugins.module_utils._engine import Field


class SCIMPropertyMapping(AuthentikResource):
    what = "SCIM property mapping"
    path = "/propertymappings/provider/scim/"
    result_key = "property_mapping"
    fields = (
        Field("name", required=True, check="identifier"),
        Field("expression", check=check_expression),
    )
    required_on_create = ("expression",)


def main():
    SCIMPropertyMapping().run()


if __name__ == "__main__":
    main()
