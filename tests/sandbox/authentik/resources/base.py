"""The generic resource of the sandbox, the release-line table and what every resource uses: errors, raw
answers, the request context, filters, ordering and authentik's pagination.

A Resource handles the standard ModelViewSet operations (list, create, retrieve, update, partial_update,
destroy) of one path; the differences between resources are the hooks below. Request bodies reach the
hooks already checked against the client's request model (see contract.check_body).
"""
from __future__ import annotations

import copy
import datetime
import math
import uuid

import contract

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
