#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_org_info
short_description: Read a Salesforce org's id, My Domain URL and API version, and look names up to ids
version_added: 0.1.0
description:
  - Returns the org's id (RV(org_id_15) and RV(org_id)), its My Domain URL RV(my_domain_url) and the API version
    RV(api_version), and resolves the profile names, usernames and certificate API names given to their ids
    in RV(profiles), RV(users) and RV(certificates) (for example the profile id that authentik's
    C(User.ProfileId) mapping and SCIM entitlements need).
  - Fails, naming every one of them, when a name cannot be found.
options:
  profiles:
    description: Profiles to resolve, by name (for example V(Standard User)) or by id (V(00e...), which must exist
      in the org). Profile names may be translated in orgs whose language is not English. Names with surrounding
      whitespace or control characters are refused before any request.
    type: list
    elements: str
    default: []
  users:
    description: Usernames (or user ids, V(005...), which must exist) to resolve.
    type: list
    elements: str
    default: []
  certificates:
    description: API names of certificates (Setup, Certificate and Key Management) to resolve; anything but an API
      name is refused before any request.
    type: list
    elements: str
    default: []
  saml_sso_configs:
    description: Also list the API names of the org's SAML SSO configurations (one more SOQL query).
    type: bool
    default: false
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.attributes.info
  - sso.authentik.attributes.salesforce
notes:
  - Calls - the login (none with O(access_token)), the version discovery (none with O(api_version)), one SOQL
    query per kind of name given and one per kind of id given (more only when an answer comes in several pages).
    The org id comes from the login, or from one more query when the token endpoint did not report it.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: The org and the profile that Just-in-Time provisioning gives new users
  sso.authentik.salesforce_org_info:
    profiles: [Standard User]
  register: org

- name: Use the profile id
  ansible.builtin.debug:
    msg: "{{ org.profiles['Standard User'] }} in org {{ org.org_id }} at {{ org.my_domain_url }}"
"""

RETURN = r"""
org_id:
  description: The org's 18-character id.
  returned: success
  type: str
  sample: 00D5g000004Ab1CEAS
org_id_15:
  description: The org's 15-character id (the one in the C(?so=) of the SAML login URL).
  returned: success
  type: str
  sample: 00D5g000004Ab1C
my_domain_url:
  description: The org's My Domain URL.
  returned: success
  type: str
  sample: https://acme.my.salesforce.com
api_version:
  description: The API version in use, the newest the org offers unless O(api_version) was given.
  returned: success
  type: str
  sample: "65.0"
profiles:
  description: Each profile given (name or id, as given), with its 18-character id.
  returned: success
  type: dict
  sample: {Standard User: 00e5g000001AbCdEAA}
users:
  description: Each user given (username or id, as given), with its 18-character id.
  returned: success
  type: dict
  sample: {admin@acme.com: 0055g00000A1b2CAAR}
certificates:
  description: Each certificate API name given, with its 18-character id.
  returned: success
  type: dict
  sample: {SelfSignedCert_01Jan2026: 0P15g000000AbCdEAA}
saml_sso_configs:
  description: API names of the org's SAML SSO configurations.
  returned: when O(saml_sso_configs=true)
  type: list
  elements: str
  sample: [authentik]
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: success
  type: dict
  sample: {calls: 3, retries: 0, logins: 1, api_usage: {used: 1042, limit: 15000}}
"""

from ansible_collections.sso.authentik.plugins.module_utils._engine import Field
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import (
    CERTIFICATE, PROFILE, USER, SalesforceInfo)

LOOKUPS = (("profiles", PROFILE), ("users", USER), ("certificates", CERTIFICATE))


class OrgInfo(SalesforceInfo):
    fields = (
        Field("profiles", type="list", elements="str", default=[], check="identifier"),
        Field("users", type="list", elements="str", default=[], check="identifier"),
        Field("certificates", type="list", elements="str", default=[], check="api_name"),
        Field("saml_sso_configs", type="bool", default=False),
    )

    def gather(self):
        client = self.client
        result = {"api_version": client.rest.api_version}
        org = client.org_id()
        result.update(org_id=org, org_id_15=org[:15], my_domain_url=client.instance_url)
        missing = []
        for option, ref in LOOKUPS:
            names = [name for name in self.params[option] if name]
            found = client.lookup_names_or_ids(ref, names) if names else {}
            missing.extend("%s %s%r" % (ref.what, "id " if ref.is_id(name) else "", name)
                           for name in names if found[name] is None)
            result[option] = {name: ident for name, ident in found.items() if ident}
        if missing:
            raise SalesforceError("Not found in the org: %s" % ", ".join(missing))
        if self.params["saml_sso_configs"]:
            records = client.rest.query("SELECT DeveloperName FROM SamlSsoConfig")
            result["saml_sso_configs"] = sorted(str(record.get("DeveloperName")) for record in records)
        return result


def main():
    OrgInfo().run()


if __name__ == "__main__":
    main()
