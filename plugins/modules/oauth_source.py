#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oauth_source
short_description: Manage OAuth and OpenID Connect sources in authentik
version_added: 0.1.0
description:
  - Create, update or delete an authentik OAuth source, with which users log in to authentik through another
    identity provider, for example Salesforce.
  - The source is found by its O(slug). Flows are given by slug.
  - Every write carries what authentik requires in it, namely the provider type, and for
    O(provider_type=openidconnect) the authorization, access token and profile URLs (unless
    O(oidc_well_known_url) is sent), and the PKCE mode O(pkce).
  - O(consumer_secret) is write-only (see O(update_secrets)). Fields the server fills in itself, such as the
    keys fetched from the JWKS URL, never cause a change.
options:
  slug:
    description:
      - Slug of the source; identifies it and forms its callback URL C(<url>/source/oauth/callback/<slug>/)
        (returned as RV(callback_url)).
      - Letters, digits, C(-) and C(_) only, checked before any request.
    type: str
    required: true
  name:
    description: Display name. Required to create the source.
    type: str
  provider_type:
    description: Kind of identity provider, as authentik names it (V(openidconnect), V(github), V(entraid), ...).
    type: str
    default: openidconnect
  consumer_key:
    description: Client id given by the identity provider (for Salesforce the consumer key). Required to create.
    type: str
  consumer_secret:
    description: Client secret given by the identity provider (for Salesforce the consumer secret). Required to create.
    type: str
  authorization_url:
    description:
      - Authorization endpoint, for example V(https://company.my.salesforce.com/services/oauth2/authorize).
      - This and the other URL options must be absolute http(s) URLs (checked before any request).
    type: str
  access_token_url:
    description: Token endpoint, for example V(https://company.my.salesforce.com/services/oauth2/token).
    type: str
  profile_url:
    description: User info endpoint, for example V(https://company.my.salesforce.com/services/oauth2/userinfo).
    type: str
  oidc_well_known_url:
    description: OpenID Connect discovery URL; authentik fetches it and fills the endpoints from it.
    type: str
  oidc_jwks_url:
    description: URL of the identity provider's signing keys; authentik fetches it.
    type: str
  additional_scopes:
    description: Space-separated scopes to request besides the defaults; a leading C(*) replaces the defaults
      (the guide uses V(*openid api)).
    type: str
  pkce:
    description: PKCE mode; sent with every write (V(none) when the source is created without it).
    type: str
    choices: [none, plain, S256]
  authentication_flow:
    description: Slug of the flow that logs in a user who is already known.
    type: str
    default: default-source-authentication
  enrollment_flow:
    description: Slug of the flow that enrolls a new user.
    type: str
    default: default-source-enrollment
  user_matching_mode:
    description: How a login is matched to an existing authentik user.
    type: str
    choices: [identifier, email_link, email_deny, username_link, username_deny]
  group_matching_mode:
    description: How groups of the identity provider are matched to authentik groups.
    type: str
    choices: [identifier, name_link, name_deny]
  enabled:
    description: Whether users can log in with the source.
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
- name: Salesforce as an OpenID Connect source of authentik
  sso.authentik.oauth_source:
    slug: salesforce
    name: Salesforce
    consumer_key: "{{ eca.consumer_key }}"
    consumer_secret: "{{ eca.consumer_secret }}"
    authorization_url: https://company.my.salesforce.com/services/oauth2/authorize
    access_token_url: https://company.my.salesforce.com/services/oauth2/token
    profile_url: https://company.my.salesforce.com/services/oauth2/userinfo
    additional_scopes: "*openid api"
    pkce: S256
  register: source
"""

RETURN = r"""
source:
  description: The source as authentik stores it, never with the consumer secret (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 3e2b7a49-0a3c-4a43-8a9b-1c9d9f5e2a10
    slug: salesforce
    provider_type: openidconnect
    pkce: S256
    callback_url: https://authentik.company/source/oauth/callback/salesforce/
callback_url:
  description: The callback (redirect) URL to register at the identity provider.
  returned: when O(state=present)
  type: str
  sample: https://authentik.company/source/oauth/callback/salesforce/
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource
from ansible_collections.sso.authentik.plugins.module_utils._engine import Field, Ref

FLOWS = Ref("/flows/instances/", "flow", by="slug")
OIDC_URLS = ("authorization_url", "access_token_url", "profile_url")


class OAuthSource(AuthentikResource):
    what = "OAuth source"
    path = "/sources/oauth/"
    key = "slug"
    item_lookup = True
    item_field = "slug"
    result_key = "source"
    fields = (
        Field("slug", required=True, check="slug"),
        Field("name", check="identifier"),
        Field("provider_type", default="openidconnect", check="slug"),
        Field("consumer_key", no_log=False),
        Field("consumer_secret", secret=True),
        Field("authorization_url", check="http_url"),
        Field("access_token_url", no_log=False, check="http_url"),
        Field("profile_url", check="http_url"),
        Field("oidc_well_known_url", check="http_url"),
        Field("oidc_jwks_url", check="http_url"),
        Field("additional_scopes"),
        Field("pkce", choices=["none", "plain", "S256"]),
        Field("authentication_flow", ref=FLOWS, default="default-source-authentication", check="slug"),
        Field("enrollment_flow", ref=FLOWS, default="default-source-enrollment", check="slug"),
        Field("user_matching_mode", choices=["identifier", "email_link", "email_deny", "username_link",
                                             "username_deny"]),
        Field("group_matching_mode", choices=["identifier", "name_link", "name_deny"]),
        Field("enabled", type="bool"),
    )

    @property
    def required_on_create(self):
        required = ["name", "consumer_key", "consumer_secret"]
        if self.params["provider_type"] == "openidconnect" and not self.params["oidc_well_known_url"]:
            required.extend(OIDC_URLS)
        return required

    def complete_payload(self, payload, current):
        current = current or {}
        payload.setdefault("provider_type", self.params["provider_type"])
        if payload["provider_type"] == "openidconnect" and "oidc_well_known_url" not in payload:
            for option in OIDC_URLS:
                payload.setdefault(option, self.params[option] or current.get(option))
        payload.setdefault("pkce", self.params["pkce"] or current.get("pkce") or "none")
        return payload

    def extras(self, obj):
        callback = obj.get("callback_url") or "%s/source/oauth/callback/%s/" % (self.client.url, obj.get("slug"))
        return {"callback_url": callback}


def main():
    OAuthSource().run()


if __name__ == "__main__":
    main()
