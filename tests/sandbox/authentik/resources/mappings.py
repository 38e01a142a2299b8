"""Property mappings: /propertymappings/all/ and the SAML and SCIM provider mappings."""
from __future__ import annotations

import state as st_mod

from .base import Resource

MAPPING_META = {
    "saml": ("ak-property-mapping-provider-saml-form", "SAML Provider Property Mapping",
             "SAML Provider Property Mappings", "authentik_providers_saml.samlpropertymapping"),
    "scim": ("ak-property-mapping-provider-scim-form", "SCIM Provider Mapping", "SCIM Provider Mappings",
             "authentik_providers_scim.scimmapping"),
}


class PropertyMappings(Resource):
    """/propertymappings/all/: every mapping type, read and delete."""

    prefix = "propertymappings_all"
    collection = "property_mappings"
    model = "PropertyMapping"
    lookup_type = "uuid"
    actions = ("list", "retrieve", "destroy")
    unique = {"name": (None, "property mapping with this name already exists."),
              "managed": (None, "property mapping with this Managed by authentik already exists.")}

    def validate_fields(self, ctx, data, obj, errors):
        if "expression" in data:
            try:
                st_mod.compile_expression(data["expression"])
            except (SyntaxError, ValueError) as exc:
                errors.setdefault("expression", []).append("Expression Syntax Error: %s" % exc)

    def serialize(self, ctx, obj):
        component, verbose, plural, meta = MAPPING_META[obj["_kind"]]
        return {"pk": obj["pk"], "managed": obj["managed"], "name": obj["name"], "expression": obj["expression"],
                "component": component, "verbose_name": verbose, "verbose_name_plural": plural,
                "meta_model_name": meta}

    def on_delete(self, ctx, obj):
        # the real server lets a mapping in use be deleted (204) and drops it from whatever used it
        for provider in ctx.st.all("providers"):
            for field in ("property_mappings", "property_mappings_group"):
                if obj["pk"] in provider.get(field, []):
                    provider[field].remove(obj["pk"])
            for field in ("name_id_mapping", "authn_context_class_ref_mapping"):
                if provider.get(field) == obj["pk"]:
                    provider[field] = None
        for source in ctx.st.all("sources"):
            for field in ("user_property_mappings", "group_property_mappings"):
                if obj["pk"] in source[field]:
                    source[field].remove(obj["pk"])


class SAMLPropertyMappings(PropertyMappings):
    prefix = "propertymappings_provider_saml"
    kind = "saml"
    model = "SAMLPropertyMapping"
    actions = Resource.actions

    def defaults(self, ctx):
        return {"managed": None, "friendly_name": None}

    def serialize(self, ctx, obj):
        data = super().serialize(ctx, obj)
        data.update(saml_name=obj["saml_name"], friendly_name=obj["friendly_name"])
        return data


class SCIMPropertyMappings(PropertyMappings):
    prefix = "propertymappings_provider_scim"
    kind = "scim"
    model = "SCIMMapping"
    actions = Resource.actions

    def defaults(self, ctx):
        return {"managed": None}
