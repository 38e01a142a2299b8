"""OAuth sources."""
from __future__ import annotations

from .base import ApiError, OAUTH_PATCH_FIX, Resource, bad_request

# name: (verbose name, urls customizable, authorization_url, access_token_url, profile_url). The sandbox
# leaves out the types' built-in well-known/JWKS URLs: it never fetches anything but 127.0.0.1/localhost.
SOURCE_TYPES = {
    "openidconnect": ("OpenID Connect", True, None, None, None),
    "okta": ("Okta", True, None, None, None),
    "mailcow": ("Mailcow", True, None, None, None),
    "entraid": ("Entra ID", True, "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token", "https://graph.microsoft.com/v1.0/me"),
    "azuread": ("Azure AD", True, "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token", "https://graph.microsoft.com/v1.0/me"),
    "github": ("GitHub", True, "https://github.com/login/oauth/authorize",
               "https://github.com/login/oauth/access_token", "https://api.github.com/user"),
    "gitlab": ("GitLab", True, "https://gitlab.com/oauth/authorize", "https://gitlab.com/oauth/token",
               "https://gitlab.com/oauth/userinfo"),
    "google": ("Google", False, "https://accounts.google.com/o/oauth2/auth", "https://oauth2.googleapis.com/token",
               "https://www.googleapis.com/oauth2/v1/userinfo"),
    "discord": ("Discord", False, "https://discord.com/api/oauth2/authorize", "https://discord.com/api/oauth2/token",
                "https://discord.com/api/users/@me"),
    "facebook": ("Facebook", False, "https://www.facebook.com/v7.0/dialog/oauth",
                 "https://graph.facebook.com/v7.0/oauth/access_token",
                 "https://graph.facebook.com/v7.0/me?fields=id,name,email"),
    "twitch": ("Twitch", False, "https://id.twitch.tv/oauth2/authorize", "https://id.twitch.tv/oauth2/token",
               "https://id.twitch.tv/oauth2/userinfo"),
    "reddit": ("Reddit", False, "https://www.reddit.com/api/v1/authorize",
               "https://www.reddit.com/api/v1/access_token", "https://oauth.reddit.com/api/v1/me"),
    "patreon": ("Patreon", False, "https://www.patreon.com/oauth2/authorize",
                "https://www.patreon.com/api/oauth2/token", "https://www.patreon.com/api/oauth2/v2/identity"),
    "twitter": ("Twitter", False, "https://twitter.com/i/oauth2/authorize", "https://api.twitter.com/2/oauth2/token",
                "https://api.twitter.com/2/users/me"),
    "apple": ("Apple", False, "https://appleid.apple.com/auth/authorize", "https://appleid.apple.com/auth/token", ""),
    "slack": ("Slack", False, "https://slack.com/openid/connect/authorize",
              "https://slack.com/api/openid.connect.token", "https://slack.com/api/openid.connect.userInfo"),
    "wechat": ("WeChat", False, "https://open.weixin.qq.com/connect/qrconnect",
               "https://api.weixin.qq.com/sns/oauth2/access_token", "https://api.weixin.qq.com/sns/userinfo"),
}

URL_FIELDS = ("authorization_url", "access_token_url", "profile_url")


class OAuthSources(Resource):
    prefix = "sources_oauth"
    collection = "sources"
    model = "OAuthSource"
    lookup = "slug"
    lookup_type = "str"
    search_fields = ("name", "slug")
    ordering = ("name",)
    unique = {"slug": (None, "source with this slug already exists.")}

    def defaults(self, ctx):
        return {"enabled": True, "promoted": False, "authentication_flow": None, "enrollment_flow": None,
                "user_property_mappings": [], "group_property_mappings": [], "policy_engine_mode": "any",
                "user_matching_mode": "identifier", "managed": None,
                "user_path_template": "goauthentik.io/sources/%(slug)s", "icon": "",
                "group_matching_mode": "identifier", "request_token_url": None, "authorization_url": None,
                "access_token_url": None, "profile_url": None, "pkce": "none", "additional_scopes": "",
                "oidc_well_known_url": "", "oidc_jwks_url": "", "oidc_jwks": {},
                "authorization_code_auth_method": "basic_auth"}

    def validate_fields(self, ctx, data, obj, errors):
        for field in ("authentication_flow", "enrollment_flow"):
            self.check_refs(ctx, data, errors, field, "flows")
        for field in ("user_property_mappings", "group_property_mappings"):
            self.check_refs(ctx, data, errors, field, "property_mappings")

    def validate(self, ctx, data, obj):
        """OAuthSourceSerializer.validate: fetch the well-known and JWKS documents, require the URLs."""
        provider_type = data.get("provider_type")
        if provider_type is None:
            if not ctx.since(OAUTH_PATCH_FIX):
                # <= 2026.2.1 reads attrs["provider_type"]: KeyError, which reaches the client as an empty 405
                raise ApiError(405, b"", "text/html; charset=utf-8")
            provider_type = obj["provider_type"]  # fixed in 2026.2.2: falls back to the stored type
        well_known = data.get("oidc_well_known_url")
        jwks_url_inferred = None
        if well_known:
            config = ctx.server.fetch_json(well_known, "oidc_well_known_url")
            if not isinstance(config, dict) or "issuer" not in config:
                raise bad_request({"oidc_well_known_url": ["Invalid well-known configuration"]})
            for field, key in (("authorization_url", "authorization_endpoint"), ("access_token_url", "token_endpoint"),
                               ("profile_url", "userinfo_endpoint"), ("pkce", "code_challenge_methods_supported")):
                if data.get(field):
                    continue  # user-set values win
                value = config.get(key, "")
                # goauthentik/authentik#21665: the whole list of methods is copied into pkce
                data[field] = str(value) if isinstance(value, list) else value
            jwks_url_inferred = config.get("jwks_uri", "")
        jwks_url = data.get("oidc_jwks_url") or jwks_url_inferred
        if jwks_url:
            data["oidc_jwks_url"] = jwks_url
            data["oidc_jwks"] = ctx.server.fetch_json(jwks_url, "oidc_jwks_url")
        verbose = SOURCE_TYPES[provider_type][0]
        builtin = dict(zip(URL_FIELDS, SOURCE_TYPES[provider_type][2:], strict=True))
        for field in URL_FIELDS:
            if builtin[field] is None and field not in data:
                raise bad_request({"non_field_errors": ["%s is required for provider %s" % (field, verbose)]})

    def serialize(self, ctx, obj):
        verbose, customizable, auth, token, profile = SOURCE_TYPES[obj["provider_type"]]
        data = {"pk": obj["pk"], "name": obj["name"], "slug": obj["slug"]}
        for field in ("enabled", "promoted", "authentication_flow", "enrollment_flow"):
            data[field] = obj[field]
        data["user_property_mappings"] = list(obj["user_property_mappings"])
        data["group_property_mappings"] = list(obj["group_property_mappings"])
        data.update(component="ak-source-oauth-form", verbose_name="OAuth Source", verbose_name_plural="OAuth Sources",
                    meta_model_name="authentik_sources_oauth.oauthsource")
        for field in ("policy_engine_mode", "user_matching_mode", "managed", "user_path_template", "icon"):
            data[field] = obj[field]
        data["icon_url"] = obj["icon"] or None
        data["icon_themed_urls"] = None
        for field in ("group_matching_mode", "provider_type", "request_token_url", "authorization_url",
                      "access_token_url", "profile_url", "pkce", "consumer_key"):
            data[field] = obj[field]
        data["callback_url"] = "%s/source/oauth/callback/%s/" % (ctx.base_url, obj["slug"])
        data["additional_scopes"] = obj["additional_scopes"]
        data["type"] = {"name": obj["provider_type"], "verbose_name": verbose, "urls_customizable": customizable,
                        "request_token_url": None, "authorization_url": auth, "access_token_url": token,
                        "profile_url": profile, "oidc_well_known_url": None, "oidc_jwks_url": None}
        for field in ("oidc_well_known_url", "oidc_jwks_url", "oidc_jwks", "authorization_code_auth_method"):
            data[field] = obj[field]
        return data

    def filter(self, ctx, name, values, rows):
        if name == "pbm_uuid":
            return [r for r in rows if r[0]["pk"] in values]
        if name == "has_jwks":
            return [r for r in rows if bool(r[0]["oidc_jwks"]) == values[0]]
        return None

    def on_delete(self, ctx, obj):
        for provider in ctx.st.all("providers", "scim"):
            if provider["auth_oauth"] == obj["pk"]:
                provider["auth_oauth"] = None
        for binding in list(ctx.st.all("policy_bindings")):
            if binding["target"] == obj["pk"]:
                ctx.st.delete("policy_bindings", binding["pk"])
