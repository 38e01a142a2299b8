#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: application
short_description: Manage applications in authentik
version_added: 0.1.0
description:
  - Create, update or delete an authentik application, which publishes a provider (for example the SAML
    provider of Salesforce) and may carry backchannel providers (for example the SCIM provider).
  - The application is found by its O(slug), read directly (C(/core/applications/<slug>/)), so that the
    policy-filtered application list can never hide it or return another one.
  - Providers are given by name. A provider serves at most one application.
options:
  slug:
    description:
      - Slug of the application; identifies it and forms its URLs (letters, digits, C(-) and C(_); checked before
        any request). authentik reserves V(authorize), V(token), V(device), V(userinfo), V(introspect) and
        V(revoke).
    type: str
    required: true
  name:
    description: Display name. Required to create the application.
    type: str
  provider:
    description: Name of the provider the application publishes. An empty string unsets it.
    type: str
  backchannel_providers:
    description: Names of the backchannel providers (for example SCIM); replaces the list.
    type: list
    elements: str
  group:
    description: Group label under which the application is listed (not a user group).
    type: str
  policy_engine_mode:
    description: Whether all or any of the bound policies must pass.
    type: str
    choices: [all, any]
  launch_url:
    description:
      - URL that the user dashboard opens, an absolute http(s) URL, or V(blank://blank) to hide the application
        from the dashboard. An empty string uses the provider's.
    type: str
  description:
    description: Description shown to users.
    type: str
  publisher:
    description: Publisher shown to users.
    type: str
  open_in_new_tab:
    description: Open the launch URL in a new browser tab.
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
- name: Salesforce, published through its SAML provider, provisioned by SCIM
  sso.authentik.application:
    slug: salesforce
    name: Salesforce
    provider: Salesforce
    backchannel_providers: [Salesforce SCIM]
    policy_engine_mode: any
    launch_url: https://company.my.salesforce.com
"""

RETURN = r"""
application:
  description: The application as authentik stores it (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 1b6d5f0c-2a4c-4c8d-8f2f-50d6b7a4c9e1
    slug: salesforce
    name: Salesforce
    provider: 7
    backchannel_providers: [8]
    launch_url: https://company.my.salesforce.com
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource
from ansible_collections.sso.authentik.plugins.module_utils._engine import (
    EngineError,
    Field,
    Ref,
    check_http_url,
    check_slug,
)

PROVIDERS = Ref("/providers/all/", "provider", search=True)  # no exact name filter on this endpoint
HIDDEN = "blank://blank"  # authentik's launch URL for an application hidden from the user's library
RESERVED_SLUGS = ("authorize", "token", "device", "userinfo", "introspect", "revoke")  # Application.reserved_slugs


def check_application_slug(value, option):
    check_slug(value, option)
    if value in RESERVED_SLUGS:
        raise EngineError("%s %r is reserved by authentik; choose another slug." % (option, value))


def check_launch_url(value, option):
    if value != HIDDEN:
        check_http_url(value, option)


class Application(AuthentikResource):
    what = "application"
    path = "/core/applications/"
    key = "slug"
    item_lookup = True
    item_field = "slug"
    result_key = "application"
    fields = (
        Field("slug", required=True, check=check_application_slug),
        Field("name", check="identifier"),
        Field("provider", ref=PROVIDERS, check="identifier"),
        Field("backchannel_providers", type="list", elements="str", ref=PROVIDERS, check="identifier"),
        Field("group"),
        Field("policy_engine_mode", choices=["all", "any"]),
        Field("launch_url", api="meta_launch_url", check=check_launch_url),
        Field("description", api="meta_description"),
        Field("publisher", api="meta_publisher"),
        Field("open_in_new_tab", type="bool"),
    )
    required_on_create = ("name",)


def main():
    Application().run()


if __name__ == "__main__":
    main()
