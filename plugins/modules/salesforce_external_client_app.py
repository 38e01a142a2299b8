#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_external_client_app
short_description: Manage an External Client App with OAuth in a Salesforce org
version_added: 0.1.0
description:
  - Create, update or delete a local External Client App with its OAuth settings and policies, for example the app
    that lets authentik use Salesforce as an OAuth source and authenticate its SCIM provisioning with the client
    credentials flow.
  - An External Client App is five Metadata API components, named after the app's API name O(name) as Salesforce
    names them - the app C(<name>) (ExternalClientApplication), its plugin policies C(<name>_plcy) (with the OAuth
    plugin enabled), its OAuth settings C(<name>_oauth) (scopes), its global OAuth settings C(<name>_glbloauth)
    (callback URLs, PKCE, client credentials flow, consumer key) and its OAuth policies C(<name>_oauthPlcy) (the
    client credentials run-as user). They are created in that order, completed if an earlier run was interrupted,
    and deleted in the reverse order.
  - Only the options given are compared; a component is written only when one of its fields differs.
  - Classic Connected Apps can no longer be created (Salesforce blocks it, through the Metadata API too, since
    Spring '26); see O(app_type).
options:
  name:
    description:
      - API name of the app (letters, digits and single underscores, a letter first, at most 70 characters), for
        example V(authentik). Anything else is refused before any request.
    type: str
    required: true
  app_type:
    description:
      - V(external_client_app) is the only kind of app this module makes.
      - V(connected_app) is refused before any request - since Spring '26 Salesforce no longer lets customers create
        Connected Apps (KB 005228017), through the UI or the Metadata API; create an External Client App instead.
    type: str
    choices: [external_client_app, connected_app]
    default: external_client_app
  label:
    description: The name shown in Setup. Defaults to O(name) when the app is created.
    type: str
  contact_email:
    description: The app's contact e-mail address. Required to create the app.
    type: str
  description:
    description: A description of the app.
    type: str
  callback_urls:
    description:
      - The OAuth redirect URIs, for example V(https://authentik.company/source/oauth/callback/salesforce/). The
        order does not matter, nor the case of the scheme and host. Required to create the app.
      - Each is an absolute http(s) URL without a comma (Salesforce stores the list as one text split at commas
        and line breaks; percent-encode a comma as V(%2C)).
    type: list
    elements: str
  scopes:
    description:
      - The OAuth scopes the app may ask for. The OAuth names V(api), V(openid), V(refresh_token), V(offline_access),
        V(full), V(web), V(id), V(profile), V(email), V(address), V(phone), V(custom_permissions), V(chatter_api),
        V(lightning) and V(content) are translated to Salesforce's (V(Api), V(OpenID), ...); Salesforce's own
        names are accepted as they are. The order does not matter. One scope per list item. Required to create
        the app.
    type: list
    elements: str
  pkce_required:
    description: Whether the authorization code flow requires PKCE. Salesforce's default for a new app is V(true).
    type: bool
  client_credentials_flow:
    description: Whether the app allows the client credentials flow (set on both the global OAuth settings and the
      OAuth policies). Requires O(client_credentials_user).
    type: bool
  client_credentials_user:
    description:
      - Username of the user the client credentials flow runs as (Salesforce asks for an API-only user with the
        permissions the caller needs, for example to manage users for SCIM). Checked to exist before it is written.
    type: str
  return_secret:
    description:
      - Return the consumer secret as RV(consumer_secret). Salesforce returns it through the Metadata API only when
        the org allows it (org setting "Allow access to OAuth consumer secrets via Metadata API" and the user
        permission "View External Client Apps Consumer Secrets in Metadata"); otherwise the module warns and
        returns no secret.
      - Register the result with C(no_log=true) if you print it.
    type: bool
    default: false
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.resource
  - sso.authentik.attributes
  - sso.authentik.attributes.salesforce
notes:
  - Calls per run (besides the login and, without O(api_version), the version discovery) - five reads when nothing
    changes (one per component; a missing app is one read); one write and one read back per changed component; one
    SOQL query when the run-as user is written.
  - The consumer key and secret (RV(consumer_key), RV(consumer_secret)) are generated by Salesforce and never changed
    by this module.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Salesforce as an OAuth source of authentik, with client credentials for SCIM
  sso.authentik.salesforce_external_client_app:
    instance_url: https://acme.my.salesforce.com
    access_token: "{{ salesforce.access_token }}"
    name: authentik
    contact_email: admin@company.com
    callback_urls: [https://authentik.company/source/oauth/callback/salesforce/]
    scopes: [openid, api]
    pkce_required: true
    client_credentials_flow: true
    client_credentials_user: scim-integration@acme.com
    return_secret: true
  register: eca
  no_log: true
"""

RETURN = r"""
external_client_app:
  description: The app's components as Salesforce returns them, by Metadata API type (never the consumer secret).
  returned: always
  type: dict
  sample:
    ExternalClientApplication: {fullName: authentik, label: authentik, contactEmail: admin@company.com}
    ExtlClntAppConfigurablePolicies: {fullName: authentik_plcy, isEnabled: true, isOauthPluginEnabled: true}
    ExtlClntAppOauthSettings: {fullName: authentik_oauth, commaSeparatedOauthScopes: "Api, OpenID"}
    ExtlClntAppGlobalOauthSettings: {fullName: authentik_glbloauth, consumerKey: 3MVG9..., isPkceRequired: true}
    ExtlClntAppOauthConfigurablePolicies: {fullName: authentik_oauthPlcy, isClientCredentialsFlowEnabled: true}
consumer_key:
  description: The consumer key (OAuth client id) Salesforce generated. Not known in check mode before the app exists.
  returned: when O(state=present)
  type: str
  sample: 3MVG9...
consumer_secret:
  description: The consumer secret (OAuth client secret), when O(return_secret=true) and the org allows reading it.
  returned: when asked for and readable
  type: str
authorization_url:
  description: The org's OAuth authorization endpoint.
  returned: when O(state=present)
  type: str
  sample: https://acme.my.salesforce.com/services/oauth2/authorize
token_url:
  description: The org's OAuth token endpoint.
  returned: when O(state=present)
  type: str
  sample: https://acme.my.salesforce.com/services/oauth2/token
userinfo_url:
  description: The org's OpenID Connect user info endpoint.
  returned: when O(state=present)
  type: str
  sample: https://acme.my.salesforce.com/services/oauth2/userinfo
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: always
  type: dict
  sample: {calls: 7, retries: 0, logins: 1, api_usage: {used: 1042, limit: 15000}}
"""

import re

from urllib.parse import urlsplit, urlunsplit

from ansible_collections.sso.authentik.plugins.module_utils._engine import (
    EngineError, Field, check_api_name, check_http_url)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import USER, SalesforceComponentSet

# alias, Metadata API type, fullName suffix: created in this order (each needs the one before), deleted in reverse.
COMPONENTS = (
    ("header", "ExternalClientApplication", ""),
    ("plcy", "ExtlClntAppConfigurablePolicies", "_plcy"),
    ("oauth", "ExtlClntAppOauthSettings", "_oauth"),
    ("global", "ExtlClntAppGlobalOauthSettings", "_glbloauth"),
    ("oauthPlcy", "ExtlClntAppOauthConfigurablePolicies", "_oauthPlcy"),
)
GENERATED = {"oauth": ("oauthLink",), "global": ("consumerKey", "consumerSecret")}
SCOPES = {"api": "Api", "openid": "OpenID", "offline_access": "RefreshToken", "refresh_token": "RefreshToken",
          "full": "Full", "web": "Web", "id": "Basic", "profile": "Profile", "email": "Email", "address": "Address",
          "phone": "Phone", "custom_permissions": "CustomPermissions", "chatter_api": "Chatter",
          "lightning": "Lightning", "content": "Content"}
SCOPE_OPTION = {value: key for key, value in SCOPES.items()}  # for diffs: refresh_token wins over offline_access
SECRET_UNAVAILABLE = (
    "return_secret: Salesforce did not return the consumer secret: the org does not allow reading it through the "
    "Metadata API (org setting 'Allow access to OAuth consumer secrets via Metadata API' and the user permission "
    "'View External Client Apps Consumer Secrets in Metadata'). Copy it from Setup, External Client App Manager, "
    "the app, Settings, OAuth Settings, Consumer Key and Secret.")
# Not an option: the app is complete (five components) with its OAuth plugin enabled. Always wanted.
COMPLETE = Field("oauth_enabled", api="oauthEnabled", type="bool")


def split(value, separators):
    if isinstance(value, list):
        return [item.strip() for item in value if item.strip()]
    return [item.strip() for item in re.split(separators, value or "") if item.strip()]


def callback_key(url):
    """Scheme and host are case-insensitive in a URL; the rest is compared as given."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))


def same_callbacks(current, desired):
    return sorted({callback_key(url) for url in split(current, r"[\n,]")}) == \
        sorted({callback_key(url) for url in split(desired, r"[\n,]")})


def check_callback_url(value, option):
    # Salesforce stores the list as one text, split at commas and line breaks: such a URL would come back as two.
    if "," in value:
        raise EngineError("%s: %r contains a comma; Salesforce splits callback URLs at commas, so it would store "
                          "two URLs. Percent-encode it as %%2C." % (option, value))
    check_http_url(value.strip(), option)


def check_scope(value, option):
    if not value.strip() or "," in value or not value.strip().isprintable() or " " in value.strip():
        raise EngineError("%s: %r is not one scope name; give each scope as its own list item." % (option, value))


def same_scopes(current, desired):
    return sorted(set(split(current, ","))) == sorted(set(split(desired, ",")))


def check_app_name(value, option):
    check_api_name(value, option)
    if len(value) > 70:  # room for the components' suffixes
        raise EngineError("%s must be at most 70 characters long." % option)


class ExternalClientApp(SalesforceComponentSet):
    what = "External Client App"
    result_key = "external_client_app"
    components = COMPONENTS
    generated = GENERATED
    fields = (
        Field("name", api="header.fullName", required=True, check=check_app_name),
        Field("label", api="header.label"),
        Field("contact_email", api="header.contactEmail"),
        Field("description", api="header.description"),
        Field("callback_urls", api="global.callbackUrl", type="list", elements="str", compare=same_callbacks,
              format=lambda value: sorted(split(value, r"[\n,]")), check=check_callback_url),
        Field("scopes", api="oauth.commaSeparatedOauthScopes", type="list", elements="str", values=SCOPES,
              compare=same_scopes, check=check_scope,
              format=lambda value: sorted(SCOPE_OPTION.get(s, s) for s in split(value, ","))),
        Field("pkce_required", api="global.isPkceRequired", type="bool"),
        Field("client_credentials_flow", api="clientCredentialsFlow", type="bool"),
        Field("client_credentials_user", api="oauthPlcy.clientCredentialsFlowUser", check="identifier",
              compare=lambda current, desired: (current or "").lower() == (desired or "").lower()),
    )
    extra_options = {
        "app_type": dict(type="str", choices=["external_client_app", "connected_app"], default="external_client_app"),
        "return_secret": dict(type="bool", default=False, no_log=False),
    }
    required_on_create = ("contact_email", "callback_urls", "scopes")
    required_if = (("client_credentials_flow", True, ("client_credentials_user",)),)

    def validate(self):
        if self.params["app_type"] == "connected_app":
            raise EngineError("Connected Apps can no longer be created: since Spring '26 Salesforce blocks creating "
                              "them, through the Metadata API too (KB 005228017). Use app_type=external_client_app.")

    def derive(self, view, records):
        if self.records.get("global") is not None:
            view.setdefault("global.isPkceRequired", True)  # Salesforce's default when it leaves it out
        view["clientCredentialsFlow"] = bool(records["global"].get("isClientCredentialsFlowEnabled")) and \
            bool(records["oauthPlcy"].get("isClientCredentialsFlowEnabled"))
        view["oauthEnabled"] = all(self.records.get(alias) for alias, _type, _suffix in COMPONENTS) and \
            bool(records["plcy"].get("isEnabled")) and bool(records["plcy"].get("isOauthPluginEnabled"))

    def desired(self):
        desired = super().desired()
        desired[COMPLETE] = True
        return desired

    def complete_payload(self, payload, current):
        if current is None:
            payload.setdefault("header.label", self.params["name"])
        user = payload.get("oauthPlcy.clientCredentialsFlowUser")
        if user and self.client.resolve(USER, user) is None:  # before any write: a half-made app helps no one
            raise EngineError("client_credentials_user %r does not exist in the org." % user)
        return payload

    def split(self, payload):
        """The derived flags span several components; the lists are stored as text."""
        payload = dict(payload)
        flow = payload.pop("clientCredentialsFlow", None)
        enabled = payload.pop("oauthEnabled", None)
        parts = super().split(payload)
        if flow is not None:
            parts["global"]["isClientCredentialsFlowEnabled"] = flow
            parts["oauthPlcy"]["isClientCredentialsFlowEnabled"] = flow
        if enabled is not None:
            parts["plcy"].update(isEnabled=True, isOauthPluginEnabled=True)
        if "callbackUrl" in parts["global"]:
            parts["global"]["callbackUrl"] = "\n".join(parts["global"]["callbackUrl"])
        if "commaSeparatedOauthScopes" in parts["oauth"]:
            parts["oauth"]["commaSeparatedOauthScopes"] = ", ".join(parts["oauth"]["commaSeparatedOauthScopes"])
        return parts

    def complete(self, alias, component):
        if alias != "header":
            component["externalClientApplication"] = self.params["name"]
        if alias == "global":  # an idempotent module never rotates the key or the secret
            component.update(shouldRotateConsumerKey=False, shouldRotateConsumerSecret=False)

    def result(self, obj):
        """The components by type, as read; never the consumer secret."""
        out = super().result(obj)
        out.get("ExtlClntAppGlobalOauthSettings", {}).pop("consumerSecret", None)
        return out

    def extras(self, obj):
        url = self.client.instance_url
        out = {"consumer_key": obj.get("global.consumerKey"), "authorization_url": url + "/services/oauth2/authorize",
               "token_url": url + "/services/oauth2/token", "userinfo_url": url + "/services/oauth2/userinfo"}
        if self.params["return_secret"]:
            if obj.get("global.consumerSecret"):
                out["consumer_secret"] = obj["global.consumerSecret"]
            elif obj.get("global.consumerKey"):  # (in check mode a new app has neither yet)
                self.warnings.append(SECRET_UNAVAILABLE)
        return out


def main():
    ExternalClientApp().run()


if __name__ == "__main__":
    main()
