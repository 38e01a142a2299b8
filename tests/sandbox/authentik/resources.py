"""The API resources of the sandbox: validation, side effects and response shapes of each endpoint.

A Resource handles the standard ModelViewSet operations (list, create, retrieve, update, partial_update,
destroy) of one path; the differences between resources are the hooks below. Request bodies reach the
hooks already checked against the client's request model (see contract.check_body).
"""
from __future__ import annotations

import copy
import datetime
import math
import re
import types
import uuid
from urllib.parse import urlsplit

import contract
import state as st_mod

# The release line at which each behaviour that the modules depend on appeared, as that line's authentik-client
# shows it (tests/unit/contract compares the lines) or the release notes say. Handlers ask ctx.since(...).
GROUP_FILTERS = (2026, 2)          # SCIM filter_group (one uuid) replaced by group_filters (a list)
SCIM_TOKEN_WRITE_ONLY = (2026, 2)  # the SCIM token is no longer returned
CERT_DETAILS_STORED = (2026, 2)    # fingerprints stored: include_details removed
SAML_SIGNING_KEY_TYPES = (2026, 2)  # a SAML signing key must be RSA, EC or DSA
OAUTH_PATCH_FIX = (2026, 2)        # 2026.2.2: a PATCH without provider_type no longer crashes
ISSUER_OVERRIDE = (2026, 5)        # issuer renamed issuer_override; url_issuer, url_unified*, sign_logout_response
METADATA_NEEDS_APP = (2026, 5)     # SAML metadata of a provider without an application: 404 (was 200, empty)
SCIM_OAUTH_STATUS = (2026, 5)      # read-only auth_oauth_token_* and auth_oauth_url_* on SCIM providers
META_HIDE = (2026, 5)              # applications: meta_hide
LINE_2026_8 = (2026, 8)            # pbm_uuid, binding expires, SCIM discovery_enabled, users in /core/users/me/


class ApiError(Exception):
    """An HTTP answer other than success: status, JSON body (or raw bytes), content type."""

    def __init__(self, status, body=None, content_type="application/json"):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.content_type = content_type


def bad_request(errors):
    return ApiError(400, errors)


def not_found(model=None):
    return ApiError(404, {"detail": "No %s matches the given query." % model if model else "Not found."})


def invalid_pk(value):
    return 'Invalid pk "%s" - object does not exist.' % value


class Raw:
    """A non-JSON response body (a download)."""

    def __init__(self, data, content_type, headers=None):
        self.data = data if isinstance(data, bytes) else data.encode()
        self.content_type = content_type
        self.headers = headers or {}


class Ctx:
    """What a handler needs to know about the request and the server."""

    def __init__(self, server, op, query, base_url):
        self.server = server
        self.st = server.state
        self.op = op
        self.query = query
        self.base_url = base_url
        self.line = server.line
        self.version = server.version

    def since(self, line):
        """True on the release lines from `line` on, e.g. ctx.since(ISSUER_OVERRIDE)."""
        return self.line >= line

    def flag(self, name, default):
        """A boolean presentation flag like include_users (not a filter)."""
        raw = self.query.get(name)
        if not raw:
            return default
        return raw[-1].lower() in ("true", "1")


# --- generic resource --------------------------------------------------------------------------

class Resource:
    prefix = ""  # operation id prefix, e.g. "providers_saml"
    collection = ""
    kind = None  # value of _kind for collections shared by several resources
    model = ""  # name in 404 messages
    lookup = "pk"  # stored key that the path parameter refers to
    lookup_type = "uuid"  # how the path parameter is parsed: uuid, int, str
    search_fields = ("name",)
    ordering = ("name",)
    actions = ("list", "create", "retrieve", "update", "partial_update", "destroy")
    # unique fields: field -> (collection kind filter or None, message)
    unique = {}

    def ops(self):
        """(operation id, handler) pairs this resource serves."""
        return [("%s_%s" % (self.prefix, action), getattr(self, "op_" + action)) for action in self.actions]

    # --- hooks ---
    def defaults(self, ctx):
        return {}

    def validate_fields(self, ctx, data, obj, errors):
        """Field-level checks (references, unique values): add to errors."""

    def validate(self, ctx, data, obj):
        """Object-level checks, after the field checks passed: raise bad_request(...)."""

    def new_pk(self, ctx):
        return str(uuid.uuid4())

    def save(self, ctx, obj, data, created):
        obj.update(copy.deepcopy(data))

    def serialize(self, ctx, obj):
        raise NotImplementedError

    def filter(self, ctx, name, values, rows):
        """Custom filter: return the filtered rows, or None when the generic exact match applies."""
        return None

    def on_delete(self, ctx, obj):
        """Clean up references to an object being deleted."""

    def search_text(self, ctx, obj, data):
        return [str(data.get(f) or "") for f in self.search_fields]

    # --- helpers ---
    def objects(self, ctx):
        return ctx.st.all(self.collection, self.kind)

    def find(self, ctx, raw):
        try:
            if self.lookup_type == "int":
                key = int(raw)
            elif self.lookup_type == "uuid":
                key = str(uuid.UUID(raw))
            else:
                key = raw
        except ValueError:
            raise not_found() from None
        for obj in self.objects(ctx):
            if obj[self.lookup] == key:
                return obj
        raise not_found(self.model)

    def check_unique(self, ctx, data, obj, errors):
        for field, (scope, message) in self.unique.items():
            value = data.get(field)
            if value is None:
                continue
            for other in ctx.st.all(self.collection, scope):
                if other is not obj and other.get(field) == value:
                    errors.setdefault(field, []).append(message)
                    break

    @staticmethod
    def check_refs(ctx, data, errors, field, collection, kind=None, accept=None):
        """Check that a pk (or a list of pks) in data[field] exists in a collection."""
        if field not in data or data[field] is None:
            return
        values = data[field] if isinstance(data[field], list) else [data[field]]
        for value in values:
            target = ctx.st.get(collection, value)
            if target is None or (kind and target.get("_kind") != kind) or (accept and not accept(target)):
                errors.setdefault(field, []).append(invalid_pk(value))
                return

    # --- operations ---
    def op_list(self, ctx, params, body):
        rows = [(obj, self.serialize(ctx, obj)) for obj in self.objects(ctx)]
        rows = self.apply_filters(ctx, rows)
        rows = self.apply_ordering(ctx, rows)
        return 200, paginate(ctx, [row[1] for row in rows])

    def op_retrieve(self, ctx, params, body):
        return 200, self.serialize(ctx, self.find(ctx, params[0]))

    def op_create(self, ctx, params, body):
        obj = self.write(ctx, body, None)
        return 201, self.serialize(ctx, obj)

    def op_update(self, ctx, params, body):
        obj = self.write(ctx, body, self.find(ctx, params[0]))
        return 200, self.serialize(ctx, obj)

    op_partial_update = op_update

    def op_destroy(self, ctx, params, body):
        obj = self.find(ctx, params[0])
        self.on_delete(ctx, obj)
        ctx.st.delete(self.collection, obj["pk"])
        return 204, None

    def write(self, ctx, body, obj):
        try:
            data = contract.check_body(ctx.op.body_model, body, ctx.version, ctx.server.drop_unknown_fields)
        except contract.ContractError as exc:
            raise bad_request(exc.errors) from None
        errors = {}
        self.check_unique(ctx, data, obj, errors)
        self.validate_fields(ctx, data, obj, errors)
        if errors:
            raise bad_request(errors)
        self.validate(ctx, data, obj)
        created = obj is None
        if created:
            obj = self.defaults(ctx)
            obj["pk"] = self.new_pk(ctx)
            if self.kind:
                obj["_kind"] = self.kind
        self.save(ctx, obj, data, created)
        if created:
            ctx.st.add(self.collection, obj)
        return obj

    # --- list machinery ---
    def apply_filters(self, ctx, rows):
        fields = set(ctx.op.item_fields)
        for name, raws in ctx.query.items():
            if name in ("page", "page_size", "ordering", "search"):
                continue
            param = ctx.op.query[name]
            if any(raw == "" for raw in raws):
                raise bad_request({"detail": "sandbox: empty value for filter '%s' (the real server ignores the filter "
                                             "and returns everything)" % name})
            try:
                values = [param.parse(raw) for raw in raws]
            except contract.ParamError as exc:
                raise bad_request({name: [str(exc)]}) from None
            if not param.multi:
                values = values[-1:]
            custom = self.filter(ctx, name, values, rows)
            if custom is not None:
                rows = custom
            elif param.type is datetime.datetime or name == "attributes":
                raise bad_request({"detail": "sandbox: filter '%s' is not implemented by the sandbox" % name})
            elif name.endswith("__isnull") and name[:-8] in fields:
                rows = [r for r in rows if (r[1].get(name[:-8]) in (None, "")) == values[0]]
            elif name in fields:
                rows = [r for r in rows if _matches(r[1].get(name), values)]
            else:
                raise bad_request({"detail": "sandbox: filter '%s' is not implemented by the sandbox" % name})
        search = ctx.query.get("search")
        if search and search[-1]:
            needle = search[-1].lower()
            rows = [r for r in rows if any(needle in text.lower() for text in self.search_text(ctx, r[0], r[1]))]
        return rows

    def apply_ordering(self, ctx, rows):
        raw = ctx.query.get("ordering")
        keys = raw[-1].split(",") if raw and raw[-1] else list(self.ordering)
        fields = set(ctx.op.item_fields)
        for key in reversed(keys):
            name = key.lstrip("-")
            if name not in fields:
                raise bad_request({"detail": "sandbox: unknown ordering field '%s' (the real server ignores it)"
                                             % name})
            rows = sorted(rows, key=lambda r, n=name: _sort_key(r[1].get(n)), reverse=key.startswith("-"))
        return rows


def _matches(value, wanted):
    if isinstance(value, list):
        return any(w in value for w in wanted)
    return value in wanted


def _sort_key(value):
    if value is None:
        return (0, "")
    if isinstance(value, (int, float, bool)):
        return (1, value)
    return (2, str(value).lower())


def paginate(ctx, items, count=None):
    """authentik's pagination: page numbers, 0 for none; 404 past the end; page_size capped at 100."""
    page_size = 20
    raw_size = ctx.query.get("page_size")
    if raw_size:
        try:
            page_size = int(raw_size[-1])
        except ValueError:
            page_size = 20
        if page_size <= 0:
            page_size = 20
        page_size = min(page_size, 100)
    raw_page = (ctx.query.get("page") or ["1"])[-1]
    total = len(items) if count is None else count
    num_pages = max(1, math.ceil(total / page_size))
    try:
        page = num_pages if raw_page == "last" else int(raw_page)
    except ValueError:
        raise ApiError(404, {"detail": "Invalid page."}) from None
    if page < 1 or page > num_pages:
        raise ApiError(404, {"detail": "Invalid page."})
    start = (page - 1) * page_size
    return {
        "pagination": {
            "next": page + 1 if page < num_pages else 0,
            "previous": page - 1 if page > 1 else 0,
            "count": total,
            "current": page,
            "total_pages": num_pages,
            "start_index": 0 if total == 0 else start + 1,
            "end_index": total if page == num_pages else page * page_size,
        },
        "results": items[start:start + page_size],
        "autocomplete": {},
    }


# --- users and groups --------------------------------------------------------------------------

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


# --- property mappings -------------------------------------------------------------------------

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


# --- providers ---------------------------------------------------------------------------------

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
        {"saml": SAMLProviders, "scim": SCIMProviders}[obj["_kind"]]().on_delete(ctx, obj)


SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
SAML_SIGNING_MESSAGE = ("With a signing keypair selected, at least one of 'Sign assertion' and 'Sign Response' "
                        "must be selected.")


def valid_http_url(value):
    """Django's (domainless) URL validator for http and https, roughly."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", value)


class SAMLProviders(Resource):
    prefix = "providers_saml"
    collection = "providers"
    kind = "saml"
    model = "SAMLProvider"
    lookup_type = "int"
    ordering = ("pk",)
    unique = PROVIDER_UNIQUE

    def ops(self):
        return super().ops() + [("providers_saml_metadata_retrieve", self.op_metadata),
                                ("providers_saml_preview_user_retrieve", self.op_preview_user)]

    def new_pk(self, ctx):
        return ctx.st.new_provider_id()

    def defaults(self, ctx):
        data = {
            "authentication_flow": None, "property_mappings": [], "sls_url": "", "audience": "",
            "assertion_valid_not_before": "minutes=-5", "assertion_valid_not_on_or_after": "minutes=5",
            "session_valid_not_on_or_after": "minutes=86400", "name_id_mapping": None,
            "authn_context_class_ref_mapping": None, "digest_algorithm": SHA256, "signature_algorithm": RSA_SHA256,
            "signing_kp": None, "verification_kp": None, "encryption_kp": None, "sign_assertion": True,
            "sign_response": False, "sign_logout_request": False, "sp_binding": "redirect", "sls_binding": "redirect",
            "logout_method": "frontchannel_iframe", "default_relay_state": "",
            "default_name_id_policy": NAMEID_UNSPECIFIED,
        }
        if ctx.since(ISSUER_OVERRIDE):
            data.update(issuer_override="", sign_logout_response=False)
        else:
            data["issuer"] = "authentik"
        return data

    def validate_fields(self, ctx, data, obj, errors):
        for field in ("authentication_flow", "authorization_flow", "invalidation_flow"):
            self.check_refs(ctx, data, errors, field, "flows")
        self.check_refs(ctx, data, errors, "property_mappings", "property_mappings")
        for field in ("name_id_mapping", "authn_context_class_ref_mapping"):
            self.check_refs(ctx, data, errors, field, "property_mappings", kind="saml")
        # signing needs a keypair with a private key (the real queryset excludes the others)
        self.check_refs(ctx, data, errors, "signing_kp", "certificates", accept=lambda kp: bool(kp["key_data"]))
        self.check_refs(ctx, data, errors, "verification_kp", "certificates")
        self.check_refs(ctx, data, errors, "encryption_kp", "certificates")
        if ctx.since(SAML_SIGNING_KEY_TYPES) and data.get("signing_kp") and "signing_kp" not in errors:
            kp = ctx.st.get("certificates", data["signing_kp"])
            if st_mod.certificate_details(kp["certificate_data"])["key_type"] not in ("rsa", "ec", "dsa"):
                errors["signing_kp"] = ["Only RSA, EC, and DSA key types are supported for SAML signing."]
        for field in ("acs_url", "sls_url"):
            if data.get(field) and not valid_http_url(data[field]):
                errors.setdefault(field, []).append("Enter a valid URL.")

    def validate(self, ctx, data, obj):
        # the real check reads only the submitted body, not the stored values or the defaults
        if data.get("signing_kp") and not data.get("sign_assertion") and not data.get("sign_response"):
            raise bad_request({"non_field_errors": [SAML_SIGNING_MESSAGE]})

    def urls(self, ctx, obj):
        app = assigned_app(ctx.st, obj["pk"])
        if app is None:
            return None
        return "%s/application/saml/%s/" % (ctx.base_url, app["slug"])

    def issuer(self, ctx, obj):
        """The EntityID the provider uses."""
        if not ctx.since(ISSUER_OVERRIDE):
            return obj["issuer"]
        if obj["issuer_override"]:
            return obj["issuer_override"]
        base = self.urls(ctx, obj)
        return base + "metadata/" if base else "authentik"

    def serialize(self, ctx, obj):
        data = provider_base(ctx.st, obj)
        for field in ("acs_url", "sls_url", "audience"):
            data[field] = obj[field]
        issuer_field = "issuer_override" if ctx.since(ISSUER_OVERRIDE) else "issuer"
        data[issuer_field] = obj[issuer_field]
        for field in ("assertion_valid_not_before", "assertion_valid_not_on_or_after",
                      "session_valid_not_on_or_after", "name_id_mapping", "authn_context_class_ref_mapping",
                      "digest_algorithm", "signature_algorithm", "signing_kp", "verification_kp", "encryption_kp",
                      "sign_assertion", "sign_response", "sign_logout_request"):
            data[field] = obj[field]
        if ctx.since(ISSUER_OVERRIDE):
            data["sign_logout_response"] = obj["sign_logout_response"]
        for field in ("sp_binding", "sls_binding", "logout_method", "default_relay_state", "default_name_id_policy"):
            data[field] = obj[field]
        base = self.urls(ctx, obj)
        if base:
            data["url_download_metadata"] = base + "metadata/"
        else:
            data["url_download_metadata"] = "%s/api/v3/providers/saml/%s/metadata/?download" % (ctx.base_url, obj["pk"])
        if ctx.since(ISSUER_OVERRIDE):
            data["url_issuer"] = self.issuer(ctx, obj)
            data["url_unified"] = base if base else "-"
            data["url_unified_init"] = base + "init/" if base else "-"
        for field, suffix in (("url_sso_post", "sso/binding/post/"), ("url_sso_redirect", "sso/binding/redirect/"),
                              ("url_sso_init", "sso/binding/init/"), ("url_slo_post", "slo/binding/post/"),
                              ("url_slo_redirect", "slo/binding/redirect/")):
            data[field] = base + suffix if base else "-"
        return data

    def filter(self, ctx, name, values, rows):
        if name == "is_backchannel":
            return [r for r in rows if values[0] is False]
        if name == "backchannel_application":
            return [r for r in rows if (backchannel_app(ctx.st, r[0]["pk"]) or {}).get("pk") in values]
        return None

    def on_delete(self, ctx, obj):
        for app in ctx.st.all("applications"):
            if app["provider"] == obj["pk"]:
                app["provider"] = None

    def metadata_xml(self, ctx, obj):
        base = self.urls(ctx, obj)
        key_descriptors = ""
        for use, field in (("signing", "signing_kp"), ("encryption", "encryption_kp")):
            kp = ctx.st.get("certificates", obj[field]) if obj[field] else None
            if kp:
                key_descriptors += (
                    '    <md:KeyDescriptor use="%s"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
                    '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n'
                    % (use, st_mod.certificate_base64(kp["certificate_data"])))
        formats = "".join("    <md:NameIDFormat>%s</md:NameIDFormat>\n" % f for f in (
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:WindowsDomainQualifiedName",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
        bindings = "urn:oasis:names:tc:SAML:2.0:bindings:"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">\n'
            '  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">\n'
            '%s'
            '    <md:SingleLogoutService Binding="%sHTTP-Redirect" Location="%sslo/binding/redirect/"/>\n'
            '    <md:SingleLogoutService Binding="%sHTTP-POST" Location="%sslo/binding/post/"/>\n'
            '%s'
            '    <md:SingleSignOnService Binding="%sHTTP-Redirect" Location="%ssso/binding/redirect/"/>\n'
            '    <md:SingleSignOnService Binding="%sHTTP-POST" Location="%ssso/binding/post/"/>\n'
            '  </md:IDPSSODescriptor>\n'
            '</md:EntityDescriptor>\n'
        ) % (_xml_attr(self.issuer(ctx, obj)), key_descriptors, bindings, base, bindings, base, formats,
             bindings, base, bindings, base)

    def op_metadata(self, ctx, params, body):
        obj = self.find(ctx, params[0])
        base = self.urls(ctx, obj)
        if base is None:
            if ctx.since(METADATA_NEEDS_APP):
                raise not_found()
            # 2025.12: 200 with empty metadata, with or without ?download
            return 200, {"metadata": ""}
        xml = self.metadata_xml(ctx, obj)
        if "download" in ctx.query:  # presence is enough, whatever the value
            return 200, Raw(xml, "application/xml", {
                "Content-Disposition": 'attachment; filename="%s_authentik_meta.xml"' % obj["name"]})
        return 200, {"metadata": xml}  # the client's model has download_url; real servers do not send it

    def op_preview_user(self, ctx, params, body):
        obj = self.find(ctx, params[0])
        user_pk = ctx.server.user_pk
        if "for_user" in ctx.query:
            raw = ctx.query["for_user"][-1]
            try:
                wanted = int(raw)
            except ValueError:
                raise bad_request({"for_user": "for_user must be numerical"}) from None
            # like the real server: an unknown user silently falls back to the caller
            if ctx.st.get("users", wanted):
                user_pk = wanted
        return 200, {"preview": self.preview(ctx, obj, user_pk)}

    def preview(self, ctx, obj, user_pk):
        """The NameID and attributes an assertion for this user would carry."""
        provider = types.SimpleNamespace(name=obj["name"], pk=obj["pk"])
        context = st_mod.expression_context(ctx.st, user_pk, provider)
        attributes = []
        for pk in obj["property_mappings"]:
            mapping = ctx.st.get("property_mappings", pk)
            if mapping is None or mapping["_kind"] != "saml":
                continue
            try:
                value = st_mod.evaluate_expression(mapping["expression"], context)
            except Exception as exc:  # noqa: BLE001 - the real server logs the error and skips the attribute
                ctx.server.log_error("mapping %r failed: %r" % (mapping["name"], exc))
                continue
            if value is None:
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            item = {"Value": [v if isinstance(v, str) else str(v) for v in values]}
            if mapping["friendly_name"]:
                item["FriendlyName"] = mapping["friendly_name"]
            item["Name"] = mapping["saml_name"]
            attributes.append(item)
        attributes.sort(key=lambda a: a["Name"])
        name_id = st_mod.user_uid(user_pk)
        user = ctx.st.get("users", user_pk)
        if obj["name_id_mapping"]:
            mapping = ctx.st.get("property_mappings", obj["name_id_mapping"])
            try:
                value = st_mod.evaluate_expression(mapping["expression"], context)
                if value is not None:
                    name_id = str(value)
            except Exception as exc:  # noqa: BLE001 - as above
                ctx.server.log_error("NameID mapping failed: %r" % exc)
        elif obj["default_name_id_policy"].endswith(":emailAddress"):
            name_id = user["email"]
        return {"attributes": attributes, "nameID": name_id}


def _xml_attr(value):
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


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


# --- applications and policies -----------------------------------------------------------------

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


# --- OAuth sources -----------------------------------------------------------------------------

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


# --- certificates ------------------------------------------------------------------------------

class Certificates(Resource):
    prefix = "crypto_certificatekeypairs"
    collection = "certificates"
    model = "CertificateKeyPair"
    ordering = ("name",)
    unique = {"name": (None, "certificate-key pair with this name already exists.")}

    def ops(self):
        return super().ops() + [
            ("crypto_certificatekeypairs_generate_create", self.op_generate),
            ("crypto_certificatekeypairs_view_certificate_retrieve", self.op_view_certificate),
            ("crypto_certificatekeypairs_view_private_key_retrieve", self.op_view_private_key),
        ]

    def defaults(self, ctx):
        return {"key_data": "", "managed": None}

    def validate_fields(self, ctx, data, obj, errors):
        if "certificate_data" in data and st_mod.load_certificate(data["certificate_data"]) is None:
            errors.setdefault("certificate_data", []).append("Unable to load certificate.")
        if data.get("key_data") and st_mod.load_private_key(data["key_data"]) is None:
            errors.setdefault("key_data", []).append("Unable to load private key (possibly encrypted?).")

    def serialize(self, ctx, obj):
        details = st_mod.certificate_details(obj["certificate_data"])
        data = {"pk": obj["pk"], "name": obj["name"]}
        hide = not ctx.since(CERT_DETAILS_STORED) and not ctx.flag("include_details", True)
        for field in ("fingerprint_sha256", "fingerprint_sha1", "cert_expiry", "cert_subject"):
            data[field] = None if hide else details[field]
        data["private_key_available"] = bool(obj["key_data"])
        data["key_type"] = details["key_type"]
        url = "/api/v3/crypto/certificatekeypairs/%s/" % obj["pk"]
        data["certificate_download_url"] = url + "view_certificate/?download"
        data["private_key_download_url"] = url + "view_private_key/?download"
        data["managed"] = obj["managed"]
        return data

    def filter(self, ctx, name, values, rows):
        if name == "has_key":
            return [r for r in rows if r[1]["private_key_available"] == values[0]] if values[0] else rows
        if name == "include_details":
            return rows
        return None

    def on_delete(self, ctx, obj):
        for provider in ctx.st.all("providers", "saml"):
            for field in ("signing_kp", "verification_kp", "encryption_kp"):
                if provider[field] == obj["pk"]:
                    provider[field] = None

    def op_generate(self, ctx, params, body):
        try:
            data = contract.check_body(ctx.op.body_model, body, ctx.version, ctx.server.drop_unknown_fields)
        except contract.ContractError as exc:
            raise bad_request(exc.errors) from None
        if any(kp["name"] == data["common_name"] for kp in ctx.st.all("certificates")):
            raise bad_request({"common_name": ["certificate-key pair with this name already exists."]})
        sans = data.get("subject_alt_name", "")
        cert, key = st_mod.generate_keypair(data["common_name"], sans.split(",") if sans else [],
                                            data["validity_days"], data.get("alg") or "rsa")
        obj = ctx.st.add("certificates", {"pk": str(uuid.uuid4()), "name": data["common_name"],
                                          "certificate_data": cert, "key_data": key, "managed": None})
        return 200, self.serialize(ctx, obj)

    def _view(self, ctx, params, field, suffix):
        obj = self.find(ctx, params[0])
        if "download" in ctx.query:
            return 200, Raw(obj[field], "application/x-pem-file", {
                "Content-Disposition": 'attachment; filename="%s_%s.pem"' % (obj["name"], suffix)})
        return 200, {"data": obj[field]}

    def op_view_certificate(self, ctx, params, body):
        return self._view(ctx, params, "certificate_data", "certificate")

    def op_view_private_key(self, ctx, params, body):
        return self._view(ctx, params, "key_data", "private_key")


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


RESOURCES = (Version, LicenseSummary, Users, Groups, Flows, PropertyMappings, SAMLPropertyMappings,
             SCIMPropertyMappings, Providers, SAMLProviders, SCIMProviders, Applications, PolicyBindings, Policies,
             OAuthSources, Certificates)
