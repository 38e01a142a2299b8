#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: authentik_info
short_description: Read an authentik server's version and licence, and look flows, groups and users up
version_added: 0.1.0
description:
  - Returns the server's version (RV(version)), whether it is in the range this collection supports
    (RV(supported), with a warning when it is not), the state of its enterprise licence (RV(licence)), and
    resolves the flow slugs, group names and usernames given to their ids (RV(flows), RV(groups), RV(users)).
  - Fails, naming every one of them, when a flow, group or user cannot be found; so that a play can refuse, before
    its first write, what the later tasks would only find missing half-way.
options:
  flows:
    description: Slugs of flows to resolve (the slug, not the flow's title).
    type: list
    elements: str
    default: []
  groups:
    description: Names of groups to resolve.
    type: list
    elements: str
    default: []
  users:
    description: Usernames to resolve.
    type: list
    elements: str
    default: []
  licence:
    description: Also read the enterprise licence summary (one more request), which SCIM in OAuth mode needs.
    type: bool
    default: false
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.attributes.info
  - sso.authentik.attributes.authentik
notes:
  - Calls - one for the version, one per name given, and one for the licence with O(licence=true).
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Is this authentik ready for SCIM in OAuth mode, and do the flows exist?
  sso.authentik.authentik_info:
    flows: [default-provider-authorization-implicit-consent, default-provider-invalidation-flow]
    groups: [Salesforce users]
    licence: true
  register: authentik

- name: SCIM in OAuth mode needs a valid licence
  ansible.builtin.assert:
    that: authentik.licence in ['valid', 'expiry_soon']
"""

RETURN = r"""
version:
  description: The server's version, as it reports it.
  returned: success
  type: str
  sample: 2026.2.2
supported:
  description: Whether the version is in the range this collection supports (2025.10 to 2026.8).
  returned: success
  type: bool
  sample: true
licence:
  description:
    - The enterprise licence summary's C(status), for example V(valid), V(expiry_soon), V(expired) or
      V(unlicensed); V(unknown) when the server does not serve the summary (HTTP 404).
  returned: when O(licence=true)
  type: str
  sample: unlicensed
flows:
  description: Each flow slug given, with its id.
  returned: success
  type: dict
  sample: {default-provider-authorization-implicit-consent: 6a5b0d2e-3c1f-4a8e-9b7d-2f4e6c8a1b3d}
groups:
  description: Each group name given, with its id.
  returned: success
  type: dict
users:
  description: Each username given, with its id.
  returned: success
  type: dict
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import (
    SUPPORTED_RANGE, AuthentikError, AuthentikInfo)
from ansible_collections.sso.authentik.plugins.module_utils._engine import Field, Ref

LOOKUPS = (("flows", Ref("/flows/instances/", "flow", by="slug")), ("groups", Ref("/core/groups/", "group")),
           ("users", Ref("/core/users/", "user", by="username")))
LICENCE = "/enterprise/license/summary/"


class ServerInfo(AuthentikInfo):
    fields = (
        Field("flows", type="list", elements="str", default=[], check="slug"),
        Field("groups", type="list", elements="str", default=[], check="identifier"),
        Field("users", type="list", elements="str", default=[], check="identifier"),
        Field("licence", type="bool", default=False),
    )

    def gather(self):
        version = self.client.version
        result = {"version": self.client.version_text,
                  "supported": SUPPORTED_RANGE[0] <= version[:2] <= SUPPORTED_RANGE[1]}
        missing = []
        for option, ref in LOOKUPS:
            found = {value: self.client.resolve(ref, value) for value in dict.fromkeys(self.params[option])}
            missing.extend("%s %r" % (ref.what, value) for value, ident in found.items() if ident is None)
            result[option] = {value: ident for value, ident in found.items() if ident is not None}
        if missing:
            raise AuthentikError("Not found in authentik: %s" % ", ".join(missing))
        if self.params["licence"]:
            status = (self.client.get_object(LICENCE, not_found_ok=True) or {}).get("status")
            result["licence"] = status if isinstance(status, str) and status else "unknown"
        return result


def main():
    ServerInfo().run()


if __name__ == "__main__":
    main()
