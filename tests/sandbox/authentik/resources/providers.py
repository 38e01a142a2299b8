"""/providers/all/ and the shape every provider type shares."""
from __future__ import annotations

from .base import Resource

PROVIDER_UNIQUE = {"name": (None, "provider with this name already exists.")}


def assigned_app(st, provider_pk):
    for app in st.all("applications"):
        if app["provider"] == provider_pk:
            return app
    return None


def backchannel_app(st, provider_pk):
    for app in st.all("applications"):
        if provider_pk in app["backchannel_providers"]:
            return app
    return None


PROVIDER_META = {
    "saml": ("ak-provider-saml-form", "SAML Provider", "SAML Providers", "authentik_providers_saml.samlprovider"),
    "scim": ("ak-provider-scim-form", "SCIM Provider", "SCIM Providers", "authentik_providers_scim.scimprovider"),
}


def provider_base(st, obj):
    """The generic Provider shape (as in Application.provider_obj)."""
    component, verbose, plural, meta = PROVIDER_META[obj["_kind"]]
    app, back = assigned_app(st, obj["pk"]), backchannel_app(st, obj["pk"])
    return {
        "pk": obj["pk"], "name": obj["name"], "authentication_flow": obj.get("authentication_flow"),
        "authorization_flow": obj.get("authorization_flow"), "invalidation_flow": obj.get("invalidation_flow"),
        "property_mappings": list(obj["property_mappings"]), "component": component,
        "assigned_application_slug": app["slug"] if app else None,
        "assigned_application_name": app["name"] if app else None,
        "assigned_backchannel_application_slug": back["slug"] if back else None,
        "assigned_backchannel_application_name": back["name"] if back else None,
        "verbose_name": verbose, "verbose_name_plural": plural, "meta_model_name": meta,
    }


class Providers(Resource):
    """/providers/all/: every provider type, read and delete (no exact name filter: use search)."""

    prefix = "providers_all"
    collection = "providers"
    model = "Provider"
    lookup_type = "int"
    ordering = ("pk",)
    actions = ("list", "retrieve", "destroy")

    def serialize(self, ctx, obj):
        return provider_base(ctx.st, obj)

    def search_text(self, ctx, obj, data):
        return [data["name"], data["assigned_application_name"] or ""]

    def filter(self, ctx, name, values, rows):
        if name == "application__isnull":
            return [r for r in rows if (assigned_app(ctx.st, r[0]["pk"]) is None) == values[0]]
        if name == "backchannel":
            return [r for r in rows if (r[0]["_kind"] == "scim") == values[0]]
        return None

    def on_delete(self, ctx, obj):
        from .saml import SAMLProviders  # they build on this module
        from .scim import SCIMProviders

        {"saml": SAMLProviders, "scim": SCIMProviders}[obj["_kind"]]().on_delete(ctx, obj)
