"""Applications, policies and policy bindings (who may use an application)."""
from __future__ import annotations

import copy

from .base import ApiError, LINE_2026_8, META_HIDE, Resource, bad_request, invalid_pk, paginate
from .core import is_superuser, partial_group, partial_user
from .providers import provider_base

RESERVED_SLUGS = ("authorize", "token", "device", "userinfo", "introspect", "revoke")


def binding_passes(st, binding, user):
    if binding.get("group"):
        passing = binding["group"] in user["groups"]
    elif binding.get("user") is not None:
        passing = binding["user"] == user["pk"]
    else:
        passing = True  # the only policies in the sandbox allow everything
    return passing != binding["negate"]


def user_can_access(st, app, user):
    """authentik's policy engine for an application: no binding means open to everyone."""
    results = [binding_passes(st, b, user) for b in st.all("policy_bindings")
               if b["target"] == app["pk"] and b["enabled"]]
    if not results:
        return True
    return any(results) if app["policy_engine_mode"] == "any" else all(results)


class Applications(Resource):
    prefix = "core_applications"
    collection = "applications"
    model = "Application"
    lookup = "slug"
    lookup_type = "str"
    search_fields = ("name", "slug", "meta_launch_url", "meta_description", "meta_publisher", "group")
    ordering = ("name",)
    unique = {"slug": (None, "application with this slug already exists."),
              "provider": (None, "application with this provider already exists.")}

    def defaults(self, ctx):
        data = {"provider": None, "backchannel_providers": [], "open_in_new_tab": False, "meta_launch_url": "",
                "meta_icon": "", "meta_description": "", "meta_publisher": "", "policy_engine_mode": "any",
                "group": ""}
        if ctx.since(META_HIDE):
            data["meta_hide"] = False
        return data

    def validate_fields(self, ctx, data, obj, errors):
        if data.get("slug") in RESERVED_SLUGS:
            errors.setdefault("slug", []).append("The slug '%s' is reserved and cannot be used for applications."
                                                 % data["slug"])
        self.check_refs(ctx, data, errors, "provider", "providers", accept=lambda p: p["_kind"] != "scim")
        self.check_refs(ctx, data, errors, "backchannel_providers", "providers", accept=lambda p: p["_kind"] == "scim")

    def save(self, ctx, obj, data, created):
        super().save(ctx, obj, data, created)
        # a backchannel provider belongs to one application: setting it here moves it
        for other in ctx.st.all("applications"):
            if other is not obj:
                other["backchannel_providers"] = [p for p in other["backchannel_providers"]
                                                  if p not in obj["backchannel_providers"]]
        ctx.st.app_list_cache.clear()

    def serialize(self, ctx, obj):
        provider = ctx.st.get("providers", obj["provider"]) if obj["provider"] is not None else None
        launch_url = obj["meta_launch_url"] or None
        if not launch_url and provider and provider["_kind"] == "saml":
            launch_url = "/application/saml/%s/sso/binding/init/" % obj["slug"]
        data = {"pk": obj["pk"]}
        if ctx.since(LINE_2026_8):
            data["pbm_uuid"] = obj["pk"]
        data.update({
            "name": obj["name"], "slug": obj["slug"], "provider": obj["provider"],
            "provider_obj": provider_base(ctx.st, provider) if provider else None,
            "backchannel_providers": list(obj["backchannel_providers"]),
            "backchannel_providers_obj": [provider_base(ctx.st, ctx.st.get("providers", p))
                                          for p in obj["backchannel_providers"]],
            "launch_url": launch_url, "open_in_new_tab": obj["open_in_new_tab"],
            "meta_launch_url": obj["meta_launch_url"], "meta_icon": obj["meta_icon"],
            "meta_icon_url": obj["meta_icon"] or None, "meta_icon_themed_urls": None,
            "meta_description": obj["meta_description"], "meta_publisher": obj["meta_publisher"],
            "policy_engine_mode": obj["policy_engine_mode"], "group": obj["group"],
        })
        if ctx.since(META_HIDE):
            data["meta_hide"] = obj["meta_hide"]
        return data

    def filter(self, ctx, name, values, rows):
        if name in ("superuser_full_list", "for_user", "only_with_launch_url"):
            return rows  # handled in op_list
        return None

    def op_list(self, ctx, params, body):
        rows = [(obj, self.serialize(ctx, obj)) for obj in self.objects(ctx)]
        rows = self.apply_ordering(ctx, self.apply_filters(ctx, rows))
        page = paginate(ctx, [row[1] for row in rows])
        caller = ctx.st.get("users", ctx.server.user_pk)
        full = (ctx.query.get("superuser_full_list") or ["false"])[-1].lower() == "true"
        if full and is_superuser(ctx.st, caller):
            return 200, page
        # The real list keeps pagination.count of the filtered queryset but returns only the applications
        # the caller may access, cached per user and page number for 24 h (filters are not in the cache key).
        for_user = ctx.query.get("for_user")
        user = caller
        if for_user and is_superuser(ctx.st, caller):
            user = ctx.st.get("users", int(for_user[-1])) or caller
        should_cache = not (ctx.query.get("search") or [""])[-1] and not for_user
        key = (user["pk"], page["pagination"]["current"])
        allowed = ctx.st.app_list_cache.get(key) if should_cache else None
        if not allowed:
            allowed = [data for data in page["results"]
                       if user_can_access(ctx.st, ctx.st.get("applications", data["pk"]), user)]
            if should_cache and allowed:
                ctx.st.app_list_cache[key] = copy.deepcopy(allowed)
        if (ctx.query.get("only_with_launch_url") or ["false"])[-1].lower() == "true":
            allowed = [a for a in allowed if a["launch_url"]]
        page["results"] = copy.deepcopy(allowed)
        return 200, page

    def on_delete(self, ctx, obj):
        # deleting an application deletes its backchannel (SCIM) providers and its bindings
        for pk in obj["backchannel_providers"]:
            ctx.st.delete("providers", pk)
            ctx.st.sync_count.pop(pk, None)
        for binding in list(ctx.st.all("policy_bindings")):
            if binding["target"] == obj["pk"]:
                ctx.st.delete("policy_bindings", binding["pk"])
        ctx.st.app_list_cache.clear()


POLICY_META = ("ak-policy-expression-form", "Expression Policy", "Expression Policies",
               "authentik_policies_expression.expressionpolicy")


def policy_dict(st, obj):
    component, verbose, plural, meta = POLICY_META
    return {"pk": obj["pk"], "name": obj["name"], "execution_logging": obj["execution_logging"],
            "component": component, "verbose_name": verbose, "verbose_name_plural": plural, "meta_model_name": meta,
            "bound_to": len([b for b in st.all("policy_bindings") if b.get("policy") == obj["pk"]])}


class Policies(Resource):
    prefix = "policies_all"
    collection = "policies"
    model = "Policy"
    actions = ("list", "retrieve", "destroy")

    def serialize(self, ctx, obj):
        return policy_dict(ctx.st, obj)

    def filter(self, ctx, name, values, rows):
        if name == "bindings__isnull":
            return [r for r in rows if (r[1]["bound_to"] == 0) == values[0]]
        if name == "promptstage__isnull":
            return [r for r in rows if values[0]]  # no prompt stage uses a policy in the sandbox
        return None

    def on_delete(self, ctx, obj):
        for binding in list(ctx.st.all("policy_bindings")):
            if binding.get("policy") == obj["pk"]:
                ctx.st.delete("policy_bindings", binding["pk"])
        ctx.st.app_list_cache.clear()


def binding_targets(st):
    return {o["pk"] for name in ("applications", "flows", "sources") for o in st.all(name)}


class PolicyBindings(Resource):
    prefix = "policies_bindings"
    collection = "policy_bindings"
    model = "PolicyBinding"
    ordering = ("target", "order")

    def defaults(self, ctx):
        return {"policy": None, "group": None, "user": None, "negate": False, "enabled": True, "timeout": 30,
                "failure_result": False}

    def validate_fields(self, ctx, data, obj, errors):
        if data.get("target") is not None and data["target"] not in binding_targets(ctx.st):
            errors["target"] = [invalid_pk(data["target"])]
        self.check_refs(ctx, data, errors, "policy", "policies")
        self.check_refs(ctx, data, errors, "group", "groups")
        self.check_refs(ctx, data, errors, "user", "users")

    def validate(self, ctx, data, obj):
        # PolicyBindingSerializer.validate reads attrs["target"] and counts the subjects in attrs alone, on a
        # partial update too: without target it fails (the client sees 405 with an empty body), without the
        # subject it refuses.
        if data.get("target") is None:
            raise ApiError(405, b"", "text/html; charset=utf-8")
        merged = dict(obj or {}, **data)
        count = sum(1 for field in ("policy", "group", "user") if data.get(field) is not None)
        if count > 1:
            raise bad_request({"non_field_errors": ["Only one of 'group', 'policy', 'user' can be set."]})
        if count == 0:
            raise bad_request({"non_field_errors": ["One of 'group', 'policy', 'user' must be set."]})
        if merged.get("policy"):
            for other in ctx.st.all("policy_bindings"):
                if other is not obj and (other["policy"], other["target"], other["order"]) == (
                        merged["policy"], merged["target"], merged["order"]):
                    raise bad_request({"non_field_errors": [
                        "The fields policy, target, order must make a unique set."]})

    def save(self, ctx, obj, data, created):
        super().save(ctx, obj, data, created)
        ctx.st.app_list_cache.clear()

    def serialize(self, ctx, obj):
        policy = ctx.st.get("policies", obj["policy"]) if obj["policy"] else None
        group = ctx.st.get("groups", obj["group"]) if obj["group"] else None
        user = ctx.st.get("users", obj["user"]) if obj["user"] is not None else None
        data = {
            "pk": obj["pk"], "policy": obj["policy"], "group": obj["group"], "user": obj["user"],
            "policy_obj": policy_dict(ctx.st, policy) if policy else None,
            "group_obj": partial_group(group) if group else None,
            "user_obj": partial_user(user) if user else None,
            "target": obj["target"], "negate": obj["negate"], "enabled": obj["enabled"], "order": obj["order"],
            "timeout": obj["timeout"], "failure_result": obj["failure_result"],
        }
        if ctx.since(LINE_2026_8):
            data.update(expires=None, expiring=False)
        return data

    def filter(self, ctx, name, values, rows):
        if name == "target_in":
            return [r for r in rows if r[0]["target"] in values]
        return None

    def search_text(self, ctx, obj, data):
        return [(data["policy_obj"] or {}).get("name", ""), (data["group_obj"] or {}).get("name", ""),
                (data["user_obj"] or {}).get("username", "")]

    def on_delete(self, ctx, obj):
        ctx.st.app_list_cache.clear()
