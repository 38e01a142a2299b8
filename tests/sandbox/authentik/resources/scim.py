"""SCIM providers."""
from __future__ import annotations

from .base import GROUP_FILTERS, LINE_2026_8, Resource, SCIM_OAUTH_STATUS, SCIM_TOKEN_WRITE_ONLY
from .providers import PROVIDER_UNIQUE, provider_base


class SCIMProviders(Resource):
    prefix = "providers_scim"
    collection = "providers"
    kind = "scim"
    model = "SCIMProvider"
    lookup_type = "int"
    search_fields = ("name", "url")
    ordering = ("pk",)
    unique = PROVIDER_UNIQUE

    def new_pk(self, ctx):
        return ctx.st.new_provider_id()

    def defaults(self, ctx):
        data = {
            "property_mappings": [], "property_mappings_group": [], "verify_certificates": True, "token": "",
            "auth_mode": "token", "auth_oauth": None, "auth_oauth_params": {}, "compatibility_mode": "default",
            "service_provider_config_cache_timeout": "hours=1", "exclude_users_service_account": False,
            "sync_page_size": 100, "sync_page_timeout": "minutes=30", "dry_run": False,
        }
        if ctx.since(GROUP_FILTERS):
            data["group_filters"] = []
        else:
            data["filter_group"] = None
        if ctx.since(LINE_2026_8):
            data["discovery_enabled"] = False
        return data

    def validate_fields(self, ctx, data, obj, errors):
        if data.get("auth_mode") in ("oauth", "oauth_interactive") and not ctx.server.enterprise:
            errors.setdefault("auth_mode", []).append("Enterprise is required to use the OAuth mode.")
        self.check_refs(ctx, data, errors, "auth_oauth", "sources")
        self.check_refs(ctx, data, errors, "property_mappings", "property_mappings")
        self.check_refs(ctx, data, errors, "property_mappings_group", "property_mappings")
        self.check_refs(ctx, data, errors, "filter_group", "groups")
        self.check_refs(ctx, data, errors, "group_filters", "groups")

    def save(self, ctx, obj, data, created):
        super().save(ctx, obj, data, created)
        # the real server starts a full sync on every save of a SCIM provider
        ctx.st.sync_count[obj["pk"]] = ctx.st.sync_count.get(obj["pk"], 0) + 1

    def serialize(self, ctx, obj):
        base = provider_base(ctx.st, obj)
        data = {k: base[k] for k in ("pk", "name")}
        data["property_mappings"] = list(obj["property_mappings"])
        data["property_mappings_group"] = list(obj["property_mappings_group"])
        for k in ("component", "assigned_backchannel_application_slug", "assigned_backchannel_application_name",
                  "verbose_name", "verbose_name_plural", "meta_model_name"):
            data[k] = base[k]
        data["url"] = obj["url"]
        data["verify_certificates"] = obj["verify_certificates"]
        if not ctx.since(SCIM_TOKEN_WRITE_ONLY):
            data["token"] = obj["token"]  # 2025.12 returns the token in clear text
        for k in ("auth_mode", "auth_oauth", "auth_oauth_params"):
            data[k] = obj[k]
        if ctx.since(SCIM_OAUTH_STATUS):
            data.update(auth_oauth_token_last_updated=None, auth_oauth_token_expires=None,
                        auth_oauth_url_callback=None, auth_oauth_url_start=None)
        for k in ("compatibility_mode", "service_provider_config_cache_timeout", "exclude_users_service_account"):
            data[k] = obj[k]
        if not ctx.since(GROUP_FILTERS):
            data["filter_group"] = obj["filter_group"]
        data["sync_page_size"] = obj["sync_page_size"]
        data["sync_page_timeout"] = obj["sync_page_timeout"]
        if ctx.since(LINE_2026_8):
            data["discovery_enabled"] = obj["discovery_enabled"]
        if ctx.since(GROUP_FILTERS):
            data["group_filters"] = list(obj["group_filters"])
        data["dry_run"] = obj["dry_run"]
        return data

    def on_delete(self, ctx, obj):
        for app in ctx.st.all("applications"):
            if obj["pk"] in app["backchannel_providers"]:
                app["backchannel_providers"].remove(obj["pk"])
        ctx.st.sync_count.pop(obj["pk"], None)
