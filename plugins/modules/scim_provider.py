#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: scim_provider
short_description: Manage SCIM providers in authentik
version_added: 0.1.0
description:
  - Create, update or delete an authentik SCIM provider, which provisions authentik users and groups into a
    service provider such as Salesforce. Attach it to an application as a backchannel provider
    (M(sso.authentik.application), O(sso.authentik.application#module:backchannel_providers)).
  - The provider is found by its exact O(name) (unique among all providers).
  - authentik starts a full synchronisation on every save of a SCIM provider, so the module never sends a
    write when nothing changed.
  - O(group_filters) is sent as C(group_filters) to authentik 2026.2 and newer and as the single
    C(filter_group) to older versions.
options:
  name:
    description: Name of the provider; identifies it.
    type: str
    required: true
  scim_url:
    description:
      - Base URL of the SCIM API, for Salesforce V(https://company.my.salesforce.com/services/scim/v2).
      - Named C(url) in authentik's API; O(url) is the authentik server this module talks to.
      - Must be an absolute http(s) URL (authentik itself does not check it). Required to create the provider.
    type: str
  auth_mode:
    description:
      - V(token) sends O(scim_token) as a bearer token; V(oauth) gets a token from the OAuth source O(oauth_source)
        with O(oauth_parameters) (needs an authentik enterprise licence).
    type: str
    choices: [token, oauth]
  scim_token:
    description:
      - Bearer token for the SCIM API in O(auth_mode=token) (C(token) in authentik's API; O(token) is the authentik
        API token of this module). Write-only (see O(update_secrets)).
    type: str
  oauth_source:
    description: Slug of the OAuth source that gets tokens in O(auth_mode=oauth). An empty string unsets it.
    type: str
  oauth_parameters:
    description: 'Extra parameters of the token request, for Salesforce V({"grant_type": "client_credentials"}).'
    type: dict
  compatibility_mode:
    description: Adjustments for a service provider's SCIM dialect. V(salesforce) is accepted for the API's V(sfdc).
    type: str
    choices: [default, salesforce, sfdc, aws, slack, webex, gitlab, vcenter]
  user_property_mappings:
    description:
      - SCIM user mappings by name or managed id; replaces the list. The default user mapping is
        V(goauthentik.io/providers/scim/user); authentik adds none by itself.
    type: list
    elements: str
  group_property_mappings:
    description: SCIM group mappings by name or managed id (default V(goauthentik.io/providers/scim/group)).
    type: list
    elements: str
  group_filters:
    description: Names of the groups whose members are provisioned (before authentik 2026.2, at most one).
    type: list
    elements: str
  exclude_service_accounts:
    description: Do not provision service accounts.
    type: bool
  dry_run:
    description: Compute the synchronisation without sending anything to the service provider.
    type: bool
  verify_certificates:
    description: Verify the TLS certificate of the SCIM API.
    type: bool
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.resource
  - sso.authentik.resource.secrets
  - sso.authentik.attributes
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: SCIM provisioning into Salesforce, authenticated through the Salesforce OAuth source
  sso.authentik.scim_provider:
    name: Salesforce SCIM
    scim_url: https://company.my.salesforce.com/services/scim/v2
    auth_mode: oauth
    oauth_source: salesforce
    oauth_parameters:
      grant_type: client_credentials
    compatibility_mode: salesforce
    user_property_mappings:
      - goauthentik.io/providers/scim/user
      - "Salesforce SCIM: Profile ID"
      - "Salesforce SCIM: Username"
    group_property_mappings:
      - goauthentik.io/providers/scim/group
"""

RETURN = r"""
provider:
  description: The provider as authentik stores it, never with its token (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 8
    name: Salesforce SCIM
    scim_url: https://company.my.salesforce.com/services/scim/v2
    auth_mode: oauth
    compatibility_mode: sfdc
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field, Ref, check_http_url


def check_scim_url(value, option):
    if value == "":
        raise EngineError("%s must not be empty: authentik provisions users to it." % option)
    check_http_url(value, option)


MAPPINGS = Ref("/propertymappings/provider/scim/", "SCIM property mapping", managed_prefix="goauthentik.io/")
GROUP_FILTERS_SINCE = (2026, 2)


class SCIMProvider(AuthentikResource):
    what = "SCIM provider"
    path = "/providers/scim/"
    result_key = "provider"
    fields = (
        Field("name", required=True, check="identifier"),
        Field("scim_url", api="url", check=check_scim_url),
        Field("auth_mode", choices=["token", "oauth"]),
        Field("scim_token", api="token", secret=True),
        Field("oauth_source", api="auth_oauth", ref=Ref("/sources/oauth/", "OAuth source", by="slug"), check="slug"),
        Field("oauth_parameters", api="auth_oauth_params", type="dict"),
        Field("compatibility_mode", choices=["default", "salesforce", "sfdc", "aws", "slack", "webex", "gitlab",
                                             "vcenter"], values={"salesforce": "sfdc"}),
        Field("user_property_mappings", api="property_mappings", type="list", elements="str", ref=MAPPINGS,
              check="identifier"),
        Field("group_property_mappings", api="property_mappings_group", type="list", elements="str", ref=MAPPINGS,
              check="identifier"),
        Field("group_filters", api="filter_group", renamed={GROUP_FILTERS_SINCE: "group_filters"}, type="list",
              elements="str", ref=Ref("/core/groups/", "group"), check="identifier"),
        Field("exclude_service_accounts", api="exclude_users_service_account", type="bool"),
        Field("dry_run", type="bool"),
        Field("verify_certificates", type="bool"),
    )
    required_on_create = ("scim_url",)
    hidden_api_keys = ("token",)  # authentik before 2026.2 returns it in clear

    def validate(self):
        if self.params["auth_mode"] == "oauth" and self.params["state"] == "present" and \
                not self.params["oauth_source"]:
            raise EngineError("auth_mode oauth needs oauth_source (the slug of the OAuth source that gets tokens).")

    def read(self, obj, field):
        value = super().read(obj, field)
        if field.option == "group_filters" and self.version < GROUP_FILTERS_SINCE:
            return [value] if value else []  # the older single filter, seen as a list
        return value

    def wire(self, payload):
        """The older API takes one group filter, not a list."""
        if "filter_group" in payload:
            groups = payload["filter_group"] or []
            if len(groups) > 1:
                raise EngineError("authentik %s filters SCIM users by one group at most; group_filters has %d "
                                  "(several need authentik 2026.2)." % (".".join(map(str, self.version)), len(groups)))
            payload = dict(payload, filter_group=groups[0] if groups else None)
        return payload

    def create(self, payload):
        return super().create(self.wire(payload))

    def update(self, current, payload):
        return super().update(current, self.wire(payload))


def main():
    SCIMProvider().run()


if __name__ == "__main__":
    main()
