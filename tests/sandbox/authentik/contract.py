"""The authentik API contract, read from the installed ``authentik-client`` package.

Everything the sandbox knows about paths, methods, query parameters, request bodies and response shapes
comes from the generated client of the profile's version: the ``<operation>_serialize`` methods give the
HTTP method, the path template and the query parameters; the public methods' signatures give the request
and response pydantic models.
"""
from __future__ import annotations

import ast
import datetime
import enum
import importlib
import importlib.util
import inspect
import os
import re
import sys
import types
import typing
import uuid
from importlib.metadata import version as dist_version

import pydantic


def client_version():
    """The installed authentik-client version, e.g. ``2025.12.4``."""
    return dist_version("authentik-client")


def _load_client_lazily():
    # authentik_client/__init__.py imports its ~1000 modules (7 s). Registering the packages as bare
    # namespaces lets the sandbox import only the API classes and models it uses (under a second).
    if "authentik_client" in sys.modules:
        return
    spec = importlib.util.find_spec("authentik_client")
    if spec is None:
        raise SystemExit("authentik-client is not installed in this interpreter")
    root = spec.submodule_search_locations[0]
    for name, sub in (("authentik_client", ""), ("authentik_client.models", "models"), ("authentik_client.api", "api")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, sub)]
        sys.modules[name] = module


def _unwrap(annotation):
    """Strip Optional[...] and Annotated[...] from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation):
    return inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel)


class ParamError(Exception):
    """A query parameter value the real server's filter form would refuse."""


class QueryParam:
    """One query parameter of an operation, with the type the client declares for it."""

    def __init__(self, name, annotation, multi):
        self.name = name
        inner = _unwrap(annotation)
        self.multi = multi or typing.get_origin(inner) in (list, typing.List)
        if typing.get_origin(inner) in (list, typing.List):
            inner = _unwrap(typing.get_args(inner)[0])
        self.type = inner

    def parse(self, raw):
        """Convert one raw string to the declared type (as django-filter's form fields would)."""
        kind = self.type
        if kind is bool:
            lowered = raw.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise ParamError("Select a valid choice. %s is not one of the available choices." % raw)
        if kind is int:
            try:
                return int(raw)
            except ValueError:
                raise ParamError("Enter a whole number.") from None
        if kind is float:
            try:
                return float(raw)
            except ValueError:
                raise ParamError("Enter a number.") from None
        if kind is uuid.UUID:
            try:
                return str(uuid.UUID(raw))
            except ValueError:
                raise ParamError("Enter a valid UUID.") from None
        if kind is datetime.datetime:
            try:
                return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise ParamError("Enter a valid date/time.") from None
        if inspect.isclass(kind) and issubclass(kind, enum.Enum):
            values = [e.value for e in kind]
            if raw not in values:
                raise ParamError("Select a valid choice. %s is not one of the available choices." % raw)
            return raw
        return raw


_API_SOURCES = {}


def _api_source(api):
    """Source text of an API module and the names its imports bind (name -> module)."""
    if api not in _API_SOURCES:
        _load_client_lazily()
        path = os.path.join(sys.modules["authentik_client.api"].__path__[0], "%s_api.py" % api)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        imports = {}
        for module, names in re.findall(r"^from ([\w.]+) import ([\w, ]+)$", text, re.M):
            for name in names.split(","):
                imports[name.strip()] = module
        _API_SOURCES[api] = (text, imports)
    return _API_SOURCES[api]


class _Names(dict):
    """Namespace for evaluating an annotation: imports what it names on first use."""

    def __init__(self, imports):
        super().__init__()
        self.imports = imports

    def __missing__(self, name):
        if name not in self.imports:
            raise NameError(name)
        value = getattr(importlib.import_module(self.imports[name]), name)
        self[name] = value
        return value


class Operation:
    """One operation of the client (``providers_saml_partial_update``...).

    Read from the API module's source rather than imported: importing an API module builds pydantic
    validators for all of its ~300 methods and imports hundreds of models (5-10 s per profile).
    """

    def __init__(self, op_id):
        self.id = op_id
        api = op_id.split("_", 1)[0]
        text, imports = _api_source(api)
        names = _Names(imports)
        signature = re.search(r"\n    def %s\((.*?)\) -> ([^:\n]+):\n" % op_id, text, re.S)
        serializer = re.search(r"\n    def _%s_serialize\((.*?)(?:\n    (?:def|@)|\Z)" % op_id, text, re.S)
        if signature is None or serializer is None:
            raise LookupError("operation %s is not in authentik-client %s" % (op_id, client_version()))
        source = serializer.group(1)
        self.method = re.search(r"method='(\w+)'", source).group(1)
        self.path = re.search(r"resource_path='([^']+)'", source).group(1)
        self.path_params = re.findall(r"_path_params\['(\w+)'\]", source)
        multi = set(re.findall(r"'(\w+)': 'multi'", source))
        query_names = re.findall(r"_query_params\.append\(\('(\w+)'", source)
        returns = signature.group(2).strip()
        self.response_model = None if returns == "None" else names[returns]
        self.body_model = None
        self.query = {}
        tree = ast.parse("def f(%s): pass" % signature.group(1)).body[0]
        for arg in tree.args.args[1:]:
            if arg.arg.startswith("_"):
                continue
            annotation = eval(compile(ast.Expression(arg.annotation), "<annotation>", "eval"),  # noqa: S307
                              {"__builtins__": {}}, names)
            if _is_model(_unwrap(annotation)):
                self.body_model = _unwrap(annotation)
            elif arg.arg in query_names:
                self.query[arg.arg] = QueryParam(arg.arg, annotation, arg.arg in multi)
        self.item_fields = []  # JSON names of a list's items
        if self.response_model is not None and "results" in self.response_model.model_fields:
            results = _unwrap(self.response_model.model_fields["results"].annotation)
            self.item_fields = list(model_fields(_unwrap(typing.get_args(results)[0])))
        # "/providers/saml/{id}/" -> regex with named groups
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        self.regex = re.compile("^" + pattern + "$")
        # literal paths first: /core/users/me/ must win over /core/users/{id}/
        self.specificity = (len(self.path_params), -len(self.path))


class ContractError(Exception):
    """A request body the contract refuses: ``errors`` is a DRF-style ``{field: [messages]}``."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


_NULLABLE = {}


def nullable_fields(model):
    """Fields the API accepts ``null`` for (the generator notes them in ``to_dict``)."""
    if model not in _NULLABLE:
        source = inspect.getsource(model.to_dict)
        _NULLABLE[model] = set(re.findall(r"# set to None if (\w+) \(nullable\)", source))
    return _NULLABLE[model]


def model_fields(model):
    """JSON names of a model's fields."""
    return {(field.alias or name): name for name, field in model.model_fields.items()}


def _drf_message(error):
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return "This field is required."
    if kind in ("string_type",):
        return "Not a valid string."
    if kind in ("bool_type", "bool_parsing"):
        return "Must be a valid boolean."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "A valid integer is required."
    if kind in ("uuid_type", "uuid_parsing"):
        return "Must be a valid UUID."
    if kind == "enum":
        return '"%s" is not a valid choice.' % (given,)
    if kind == "string_too_short":
        return "This field may not be blank."
    if kind == "string_too_long":
        return "Ensure this field has no more than %s characters." % ctx.get("max_length")
    if kind == "string_pattern_mismatch" or (kind == "value_error" and "regular expression" in error["msg"]):
        if error["loc"][0] == "slug":
            return 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
        return "This value does not match the required pattern."
    if kind == "list_type":
        return 'Expected a list of items but got type "%s".' % type(given).__name__
    if kind == "dict_type":
        return 'Expected a dictionary of items but got type "%s".' % type(given).__name__
    if kind == "greater_than_equal":
        return "Ensure this value is greater than or equal to %s." % ctx.get("ge")
    if kind == "less_than_equal":
        return "Ensure this value is less than or equal to %s." % ctx.get("le")
    if kind.startswith("datetime"):
        return "Datetime has wrong format."
    return error["msg"]


def check_body(model, body, version, drop_unknown=False):
    """Validate a request body against the request model; return the normalised JSON values.

    Unknown keys are an error here (the real server drops them silently; with drop_unknown, so does this), so
    are nulls for fields that are not nullable, missing required fields (the model says which) and every
    pydantic error.
    """
    if not isinstance(body, dict):
        raise ContractError({"non_field_errors": [
            "Invalid data. Expected a dictionary, but got %s." % type(body).__name__]})
    fields = model_fields(model)
    nullable = nullable_fields(model)
    errors = {}
    for key, value in body.items():
        if key not in fields:
            if drop_unknown:
                continue
            errors[key] = ["sandbox: field not in the %s contract (the real server would silently ignore it)" % version]
        elif value is None and fields[key] not in nullable:
            errors[key] = ["This field may not be null."]
    known = {k: v for k, v in body.items() if k in fields and k not in errors}
    try:
        instance = model.model_validate(known)
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "non_field_errors"
            message = _drf_message(error)
            if message not in errors.setdefault(field, []):
                errors[field].append(message)
        instance = None
    if errors:
        raise ContractError(errors)
    return instance.model_dump(mode="json", by_alias=True, exclude_unset=True)


# Where a faithful response does not match a client model, through no fault of the sandbox. Paths as pydantic
# reports them, without list indexes and without the "results" of a paginated list.
# - the real server returns null where a client version declares a required, non-nullable field:
NULL_BUT_REQUIRED = {
    ("provider_obj",),  # Application without a provider, 2025.12
    ("provider_obj", "authorization_flow"),  # a SCIM provider has no flows; as a nested Provider, 2025.12
    ("provider_obj", "invalidation_flow"),
    ("backchannel_providers_obj", "authorization_flow"),
    ("backchannel_providers_obj", "invalidation_flow"),
    ("policy_obj",),  # PolicyBinding of a group or user, 2025.12
    ("group_obj",),
    ("user_obj",),
}
# - the same for the generic Provider list and object (/providers/all/) when the provider is a SCIM one:
NULL_BUT_REQUIRED_IN = {"PaginatedProviderList": {("authorization_flow",), ("invalidation_flow",)},
                        "Provider": {("authorization_flow",), ("invalidation_flow",)}}
# - the real server leaves these keys out (SAMLMetadata's download_url, always; the Group *_obj
#   lists unless include_* asks for them):
LEFT_OUT = {("download_url",), ("parents_obj",), ("users_obj",), ("children_obj",), ("inherited_roles_obj",)}
# - goauthentik/authentik#21665: a well-known document fills pkce with the whole list of methods
BAD_ENUM = {("pkce",)}


def check_response(model, data):
    """Errors (strings) of a response body against the response model; empty when it matches."""
    try:
        model.model_validate(data)  # like from_dict, with every error at once and full paths
        return []
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = tuple(x for x in error["loc"] if not isinstance(x, int) and x != "results")
            if error["type"] == "missing" and path in LEFT_OUT:
                continue
            if error.get("input") is None and (
                    path in NULL_BUT_REQUIRED or path in NULL_BUT_REQUIRED_IN.get(model.__name__, ())):
                continue
            if error["type"] == "enum" and path in BAD_ENUM:
                continue
            problems.append("%s: %s" % (".".join(str(x) for x in error["loc"]), error["msg"]))
        return problems
