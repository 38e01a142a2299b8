"""Users, groups and flows; the version and licence-summary endpoints."""
from __future__ import annotations

import uuid

import state as st_mod

from .base import LINE_2026_8, Resource, invalid_pk

AVATAR = "/static/dist/assets/images/user_default.png"


def partial_group(group):
    return {"pk": group["pk"], "num_pk": group["num_pk"], "name": group["name"],
            "is_superuser": group["is_superuser"], "attributes": group["attributes"]}


def partial_user(user):
    return {"pk": user["pk"], "username": user["username"], "name": user["name"], "is_active": user["is_active"],
            "last_login": user["last_login"], "email": user["email"], "attributes": user["attributes"],
            "uid": st_mod.user_uid(user["pk"])}


def check_no_roles(data, errors):
    # the sandbox has no RBAC roles, so any role pk refers to nothing
    if data.get("roles"):
        errors["roles"] = [invalid_pk(data["roles"][0])]


def is_superuser(st, user):
    return any(g["is_superuser"] for g in st.all("groups") if g["pk"] in user["groups"])


class Users(Resource):
    prefix = "core_users"
    collection = "users"
    model = "User"
    lookup_type = "int"
    search_fields = ("username", "name", "email")
    ordering = ("username",)
    unique = {"username": (None, "A user with that username already exists.")}

    def ops(self):
        return super().ops() + [("core_users_me_retrieve", self.op_me)]

    def new_pk(self, ctx):
        return ctx.st.new_user_id()

    def defaults(self, ctx):
        now = st_mod.now_iso()
        return {"is_active": True, "last_login": None, "date_joined": now, "groups": [], "roles": [], "email": "",
                "attributes": {}, "path": "users", "type": "internal", "uuid": str(uuid.uuid4()),
                "password_change_date": now, "last_updated": now}

    def validate_fields(self, ctx, data, obj, errors):
        self.check_refs(ctx, data, errors, "groups", "groups")
        check_no_roles(data, errors)

    def save(self, ctx, obj, data, created):
        super().save(ctx, obj, data, created)
        obj["last_updated"] = st_mod.now_iso()
        ctx.st.app_list_cache.clear()  # group membership decides what the application list shows

    def serialize(self, ctx, obj):
        groups = [g for g in ctx.st.all("groups") if g["pk"] in obj["groups"]]
        return {
            "pk": obj["pk"], "username": obj["username"], "name": obj["name"], "is_active": obj["is_active"],
            "last_login": obj["last_login"], "date_joined": obj["date_joined"],
            "is_superuser": is_superuser(ctx.st, obj), "groups": list(obj["groups"]),
            "groups_obj": [partial_group(g) for g in groups] if ctx.flag("include_groups", True) else None,
            "roles": [], "roles_obj": [] if ctx.flag("include_roles", True) else None,
            "email": obj["email"], "avatar": AVATAR, "attributes": obj["attributes"],
            "uid": st_mod.user_uid(obj["pk"]), "path": obj["path"], "type": obj["type"], "uuid": obj["uuid"],
            "password_change_date": obj["password_change_date"], "last_updated": obj["last_updated"],
        }

    def filter(self, ctx, name, values, rows):
        if name in ("include_groups", "include_roles"):
            return rows
        if name == "groups_by_name":
            pks = {g["pk"] for g in ctx.st.all("groups") if g["name"] in values}
            return [r for r in rows if pks & set(r[0]["groups"])]
        if name == "groups_by_pk":
            return [r for r in rows if set(values) & set(r[0]["groups"])]
        if name == "path_startswith":
            return [r for r in rows if r[0]["path"].startswith(values[0])]
        return None

    def on_delete(self, ctx, obj):
        for binding in list(ctx.st.all("policy_bindings")):
            if binding.get("user") == obj["pk"]:
                ctx.st.delete("policy_bindings", binding["pk"])
        ctx.st.app_list_cache.clear()

    def op_me(self, ctx, params, body):
        user = ctx.st.get("users", ctx.server.user_pk)
        groups = [g for g in ctx.st.all("groups") if g["pk"] in user["groups"]]
        me = {
            "pk": user["pk"], "username": user["username"], "name": user["name"], "is_active": user["is_active"],
            "is_superuser": is_superuser(ctx.st, user), "groups": [{"name": g["name"], "pk": g["pk"]} for g in groups],
            "roles": [], "email": user["email"], "avatar": AVATAR, "uid": st_mod.user_uid(user["pk"]),
            "settings": {}, "type": user["type"], "system_permissions": [],
        }
        if ctx.since(LINE_2026_8):
            me = dict(list(me.items())[:5] + [("is_current", True)] + list(me.items())[5:])
            return 200, {"user": me, "users": [me]}
        return 200, {"user": me}


class Groups(Resource):
    prefix = "core_groups"
    collection = "groups"
    model = "Group"
    ordering = ("name",)
    unique = {"name": (None, "group with this name already exists.")}

    def defaults(self, ctx):
        return {"num_pk": ctx.st.new_group_num(), "is_superuser": False, "parents": [], "attributes": {}, "roles": []}

    def validate_fields(self, ctx, data, obj, errors):
        self.check_refs(ctx, data, errors, "parents", "groups", accept=lambda g: obj is None or g is not obj)
        self.check_refs(ctx, data, errors, "users", "users")
        check_no_roles(data, errors)

    def save(self, ctx, obj, data, created):
        data = dict(data)
        members = data.pop("users", None)
        super().save(ctx, obj, data, created)
        if members is not None:
            for user in ctx.st.all("users"):
                if user["pk"] in members and obj["pk"] not in user["groups"]:
                    user["groups"].append(obj["pk"])
                elif user["pk"] not in members and obj["pk"] in user["groups"]:
                    user["groups"].remove(obj["pk"])
        ctx.st.app_list_cache.clear()

    def serialize(self, ctx, obj):
        users = [u for u in ctx.st.all("users") if obj["pk"] in u["groups"]]
        parents = [g for g in ctx.st.all("groups") if g["pk"] in obj["parents"]]
        children = [g for g in ctx.st.all("groups") if obj["pk"] in g["parents"]]

        def related(g):
            return {"pk": g["pk"], "name": g["name"], "is_superuser": g["is_superuser"],
                    "attributes": g["attributes"], "group_uuid": g["pk"]}

        data = {"pk": obj["pk"], "num_pk": obj["num_pk"], "name": obj["name"], "is_superuser": obj["is_superuser"],
                "parents": list(obj["parents"])}
        # the real viewset leaves the *_obj fields out unless asked for (include_users defaults to true)
        if ctx.flag("include_parents", False):
            data["parents_obj"] = [related(g) for g in parents]
        data["users"] = [u["pk"] for u in users]
        if ctx.flag("include_users", True):
            data["users_obj"] = [partial_user(u) for u in users]
        data.update({"attributes": obj["attributes"], "roles": [], "roles_obj": []})
        if ctx.flag("include_inherited_roles", False):
            data["inherited_roles_obj"] = []
        data["children"] = [g["pk"] for g in children]
        if ctx.flag("include_children", False):
            data["children_obj"] = [related(g) for g in children]
        return data

    def filter(self, ctx, name, values, rows):
        if name.startswith("include_"):
            return rows
        if name == "members_by_username":
            pks = {u["pk"] for u in ctx.st.all("users") if u["username"] in values}
            return [r for r in rows if pks & set(r[1]["users"])]
        if name == "members_by_pk":
            return [r for r in rows if set(values) & set(r[1]["users"])]
        return None

    def on_delete(self, ctx, obj):
        for user in ctx.st.all("users"):
            if obj["pk"] in user["groups"]:
                user["groups"].remove(obj["pk"])
        for group in ctx.st.all("groups"):
            if obj["pk"] in group["parents"]:
                group["parents"].remove(obj["pk"])
        for binding in list(ctx.st.all("policy_bindings")):
            if binding.get("group") == obj["pk"]:
                ctx.st.delete("policy_bindings", binding["pk"])
        for provider in ctx.st.all("providers", "scim"):
            if provider.get("filter_group") == obj["pk"]:
                provider["filter_group"] = None
            if obj["pk"] in provider.get("group_filters", []):
                provider["group_filters"].remove(obj["pk"])
        ctx.st.app_list_cache.clear()


class Flows(Resource):
    prefix = "flows_instances"
    collection = "flows"
    model = "Flow"
    lookup = "slug"
    lookup_type = "str"
    search_fields = ("name", "slug", "title")
    ordering = ("slug",)
    actions = ("list", "retrieve")

    def serialize(self, ctx, obj):
        return {
            "pk": obj["pk"], "policybindingmodel_ptr_id": obj["pk"], "name": obj["name"], "slug": obj["slug"],
            "title": obj["title"], "designation": obj["designation"], "background": obj["background"],
            "background_url": "/static/dist/assets/images/flow_background.jpg", "background_themed_urls": None,
            "stages": [], "policies": [], "cache_count": 0, "policy_engine_mode": obj["policy_engine_mode"],
            "compatibility_mode": obj["compatibility_mode"],
            "export_url": "/api/v3/flows/instances/%s/export/" % obj["slug"], "layout": obj["layout"],
            "denied_action": obj["denied_action"], "authentication": obj["authentication"],
        }

    def filter(self, ctx, name, values, rows):
        if name == "flow_uuid":
            return [r for r in rows if r[0]["pk"] in values]
        return None


class Version(Resource):
    actions = ()

    def ops(self):
        return [("admin_version_retrieve", self.op_version)]

    def op_version(self, ctx, params, body):
        return 200, {"version_current": ctx.version, "version_latest": ctx.version, "version_latest_valid": True,
                     "build_hash": "", "outdated": False, "outpost_outdated": False}


class LicenseSummary(Resource):
    """What /enterprise/license/summary/ reports: `valid` with the sandbox's licence on, `unlicensed` without."""

    actions = ()

    def ops(self):
        return [("enterprise_license_summary_retrieve", self.op_summary)]

    def op_summary(self, ctx, params, body):
        licensed = ctx.server.enterprise
        return 200, {"internal_users": 1, "external_users": 0, "status": "valid" if licensed else "unlicensed",
                     "latest_valid": "2099-01-01T00:00:00Z" if licensed else "1970-01-01T00:00:00Z",
                     "license_flags": []}
