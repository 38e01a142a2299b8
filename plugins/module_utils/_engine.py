# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile engine every resource module of the collection runs on.

A module declares a Resource: where the object lives, how it is found, and its fields (how each option maps
to the API, how it is compared, whether it is a reference to resolve or a secret never read back). The engine
does the rest the same way for every module: validate, look up, compare only what the user set, create /
update only the changed fields / delete, predict in check mode without writing, re-read and verify after a
write, and report a diff with secrets masked. Transports (authentik REST, Salesforce) subclass Resource with
the verbs find / create / update / delete / reread; module-specific quirks are hooks in the module's own file.
A read-only module is an InfoResource: the same options, checks, connection and errors, and `gather()`.
"""

from __future__ import annotations

import re
import traceback
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

MASK = "********"
STATE_SPEC = dict(type="str", choices=["present", "absent"], default="present")
UPDATE_SECRETS_SPEC = dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False)


class EngineError(Exception):
    """A failure explained in one sentence; the module fails with it (never with a traceback)."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = {k: v for k, v in details.items() if v is not None}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
_SALESFORCE_API_NAME = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")
_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_PK = re.compile(r"^(?:[0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


def check_http_url(value, option):
    """Refuse anything but an absolute http(s) URL with a host, before any request is sent."""
    if value in (None, ""):
        return
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(
            char.isspace() or not char.isprintable() for char in value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except (ValueError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise EngineError("%s must be an absolute http(s) URL, got %r." % (option, value))


def check_slug(value, option):
    """authentik slugs: letters, digits, '-' and '_' (what its SlugField accepts)."""
    if not isinstance(value, str) or not _SLUG.match(value):
        raise EngineError("%s must be a slug (letters, digits, '-' and '_' only), got %r." % (option, value))


def check_api_name(value, option):
    """Salesforce API (developer) names: a letter first, letters, digits and single underscores, 80 at most."""
    if not isinstance(value, str) or not _SALESFORCE_API_NAME.match(value) or len(value) > 80:
        raise EngineError(
            "%s %r is not a valid API name: up to 80 letters, digits and underscores, starting with a letter, "
            "without two underscores in a row or one at the end (the label may contain anything)." % (option, value))


def check_salesforce_id(value, option):
    if not isinstance(value, str) or not _SALESFORCE_ID.match(value):
        raise EngineError("%s must be a Salesforce record id (15 or 18 letters and digits), got %r." % (option, value))


def check_identifier(value, option):
    """A name looked up by a query: any printable text, without control characters or surrounding whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise EngineError("%s must not be empty." % option)
    if value != value.strip() or not value.isprintable():
        raise EngineError("%s %r has leading or trailing whitespace or control characters; give the name exactly "
                          "as the server shows it." % (option, value))


# The per-option checks a Field may name (Field(check="slug")), or any function (value, option).
CHECKS = {"slug": check_slug, "api_name": check_api_name, "http_url": check_http_url,
          "salesforce_id": check_salesforce_id, "identifier": check_identifier}


def path_segment(value, what="id"):
    """A value that goes into a URL path, checked and quoted as one segment: it can never change the target.

    Values of the user are checked by their option's Field check before any request; this refuses what a server
    answered (a pk or slug of another shape) or what slipped past, and quotes it.
    """
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not (_SLUG.match(text) or _PK.match(text)):
        raise EngineError("Refusing to use %r as the %s in a URL path: an identifier may hold only letters, digits, "
                          "'-' and '_'." % (value, what))
    return quote(text, safe="")


def control_character_problem(params, spec, prefix=""):
    """The first string option holding a NUL or other control character (tab and newlines are text), or None."""
    for name, option in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and _CONTROL.search(item):
                return "%s%s contains a control character (such as NUL); remove it." % (prefix, name)
            if isinstance(item, dict) and option.get("options"):
                found = control_character_problem(item, option["options"], prefix + name + ".")
                if found:
                    return found
    return None


def trimmed(value):
    """Text stripped of leading and trailing whitespace, in a list too; anything else as it is."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [trimmed(item) for item in value]
    return value


class SafeModule(AnsibleModule):
    """AnsibleModule whose every message, warning and returned value passes through one Scrubber.

    Ansible masks a no_log value only as it was given; the scrubber also finds it stripped, escaped or
    URL-encoded, inside URLs' user:password@, and secrets learnt during the run (`add_secret`).
    """

    def __init__(self, *args, **kwargs):
        from ansible_collections.sso.authentik.plugins.module_utils._http import Scrubber

        self.scrubber = Scrubber()  # argument validation in AnsibleModule.__init__ may already fail_json
        super().__init__(*args, **kwargs)
        for value in self.no_log_values:
            self.scrubber.add(value)
        problem = control_character_problem(self.params, self.argument_spec)
        if problem:
            self.fail_json(msg=problem)

    def add_secret(self, value):
        return self.scrubber.add(value)

    def warn(self, warning):
        super().warn(self.scrubber.text(warning))

    def exit_json(self, **kwargs):
        super().exit_json(**self.scrubber.value(kwargs))

    def fail_json(self, msg, **kwargs):
        super().fail_json(msg=self.scrubber.text(msg), **self.scrubber.value(kwargs))


class Ref:
    """Where to resolve what a person types (a name, slug or username) to the id the API expects."""

    def __init__(self, path, what, by="name", id_field="pk", item=False, managed_prefix=None, search=False):
        self.path = path
        self.what = what
        self.by = by
        self.id_field = id_field
        self.item = item  # look up with GET <path><value>/ rather than an exact list filter
        self.managed_prefix = managed_prefix  # values with this prefix are looked up by their `managed` id
        self.search = search  # the endpoint has no exact filter: search, then keep exact matches only

    def match(self, value):
        """The fields an object must have to be the one named."""
        if self.managed_prefix and value.startswith(self.managed_prefix):
            return {"managed": value}
        return {self.by: value}

    def filters(self, value):
        """The query that finds it."""
        return {"search": value} if self.search else self.match(value)


class Field:
    """One option of a module and how it maps to, and compares with, the API object.

    compare: "exact" (default; None and "" are equal for strings), "set" (order-insensitive list, the
    default for lists), or a function (current_api_value, desired_api_value) -> bool.
    read_key: the API key holding the current value when it is not `api` (e.g. a fingerprint for a certificate).
    renamed: {version tuple: api name} for fields the API renamed; the name in force on the server is used.
    values: {option value: API value} where the API spells a choice differently.
    secret: write-only, never compared, returned or shown; sent on create, and on update only with
    update_secrets=always. create_only: never updated; a difference is reported as a warning.
    check: a name in CHECKS ("slug", "api_name", "http_url", ...) or a function (value, option) raising
    EngineError; run on every given value (each element of a list) before any request.
    format: a function (value) -> what the diff shows for a value, in option terms (e.g. a fingerprint for a PEM).
    """

    def __init__(self, option, api=None, type="str", elements=None, choices=None, default=None, required=False,
                 ref=None, values=None, compare=None, read_key=None, renamed=None, secret=False, create_only=False,
                 aliases=None, no_log=None, format=None, check=None):
        self.option = option
        self.check = CHECKS[check] if isinstance(check, str) else check
        self.api = api or option
        self.type = type
        self.elements = elements
        self.choices = choices
        self.default = default
        self.required = required
        self.ref = ref
        self.values = values or {}
        self.compare = compare or ("set" if type == "list" else "exact")
        self.read_key = read_key
        self.renamed = renamed or {}
        self.secret = secret
        self.create_only = create_only
        self.aliases = aliases
        self.no_log = no_log
        self.format = format

    def validate(self, value):
        if self.check is None or value is None:
            return
        for item in value if isinstance(value, list) else [value]:
            if not (item == "" and self.ref is not None):  # an empty string unsets a reference
                self.check(item, self.option)

    def argument_spec(self):
        spec = dict(type=self.type)
        for key in ("elements", "choices", "default", "aliases"):
            if getattr(self, key) is not None:
                spec[key] = getattr(self, key)
        if self.required:
            spec["required"] = True
        if self.secret:
            spec["no_log"] = True
        elif self.no_log is not None:
            spec["no_log"] = self.no_log
        return spec

    def api_name(self, version=None):
        name = self.api
        for since, new_name in sorted(self.renamed.items()):
            if version is not None and version >= since:
                name = new_name
        return name

    def to_api(self, value):
        if isinstance(value, list):
            return [self.values.get(v, v) if isinstance(v, str) else v for v in value]
        return self.values.get(value, value) if isinstance(value, str) else value

    def from_api(self, value):
        reverse = {v: k for k, v in self.values.items()}
        if isinstance(value, list):
            return [reverse.get(v, v) if isinstance(v, str) else v for v in value]
        return reverse.get(value, value) if isinstance(value, str) else value

    def equal(self, current, desired):
        if callable(self.compare):
            return self.compare(current, desired)
        if self.compare == "set":
            return sorted({str(v) for v in current or []}) == sorted({str(v) for v in desired or []})
        if self.type == "str":
            return (current or "") == (desired or "")
        return current == desired


class Resource:
    """Declarative description of one kind of object, plus the reconcile path (see the module docstring)."""

    what = "object"  # how messages name the object
    key = "name"  # the option that identifies the object
    result_key = "object"  # the result holds the object under this key
    fields = ()
    required_on_create = ()  # options that must be given to create (not to update or delete)
    extra_options = {}  # options that are not fields of the object
    mutually_exclusive = ()
    required_if = ()
    required_one_of = ()
    required_together = ()
    required_by = {}
    hidden_api_keys = ()  # keys of the API object never returned (write-only secrets echoed by some versions)
    import_errors = ()  # (library name, traceback or None) pairs checked before anything else
    has_state = True  # False for an object that always exists (org-wide settings): no `state` option, no absent
    trims_text = False  # the server strips text values on save: compare (and send) them stripped, or a rerun writes

    def __init__(self):
        self.module = None
        self.params = None
        self.client = None
        self.warnings = []

    # -- what a transport provides ------------------------------------------------------------------------

    def connection_spec(self):
        return {}

    def connect(self):
        raise NotImplementedError

    def find(self):
        raise NotImplementedError

    def create(self, payload):
        raise NotImplementedError

    def update(self, current, payload):
        raise NotImplementedError

    def delete(self, current):
        raise NotImplementedError

    def reread(self, obj):
        return obj

    def resolve(self, ref, value):
        return self.client.resolve(ref, value)

    def name_of(self, ref, ident):
        return self.client.name_of(ref, ident)

    def is_conflict(self, error):
        """True when a create failed because the object appeared meanwhile (another run made it)."""
        return False

    @property
    def version(self):
        """The server version, for renamed fields; transports that know it override this."""
        return None

    # -- hooks a module may override ----------------------------------------------------------------------

    def validate(self):
        """Check the input before any request; raise EngineError to refuse it."""

    def complete_payload(self, payload, current):
        """Add what the server requires alongside some fields (payload is in API names). Returns the payload."""
        return payload

    def read(self, obj, field):
        return obj.get(field.read_key or field.api_name(self.version))

    def result(self, obj):
        return {k: v for k, v in obj.items() if k not in self.hidden_api_keys and k not in self._secret_api_keys()}

    def extras(self, obj):
        """Top-level results besides the object (for example a URL the next task needs)."""
        return {}

    # -- the module ---------------------------------------------------------------------------------------

    def argument_spec(self):
        spec = dict(self.connection_spec())
        for field in self.fields:
            if field.option in spec:  # a field must never shadow a connection option (e.g. `url`)
                raise ValueError("option %s of %s is already a connection option" % (field.option, self.what))
            spec[field.option] = field.argument_spec()
        spec.update(self.extra_options)
        if self.has_state:
            spec["state"] = dict(STATE_SPEC)
        if any(field.secret for field in self.fields):
            spec["update_secrets"] = dict(UPDATE_SECRETS_SPEC)
        return spec

    def run(self):
        self.module = SafeModule(
            argument_spec=self.argument_spec(),
            supports_check_mode=True,
            mutually_exclusive=list(self.mutually_exclusive),
            required_if=list(self.required_if),
            required_one_of=list(self.required_one_of),
            required_together=list(self.required_together),
            required_by=dict(self.required_by),
        )
        for library, error in self.import_errors:
            if error:
                self.module.fail_json(msg=missing_required_lib(library), exception=error)
        self.params = self.module.params
        try:
            for field in self.fields:
                field.validate(self.params.get(field.option))
            self.validate()
            self.client = self.connect()
            self.warnings.extend(getattr(self.client, "warnings", ()))
            taken = len(getattr(self.client, "warnings", ()))
            result = self.reconcile()
            self.warnings.extend(getattr(self.client, "warnings", ())[taken:])  # e.g. when the version was read
        except EngineError as exc:
            self.module.fail_json(msg=exc.msg, **exc.details)
        except Exception as exc:  # a bug: say so in one line, keep the traceback for -vvv only
            self.module.fail_json(msg="Unexpected error in %s: %s" % (self.module._name, exc),
                                  exception=traceback.format_exc())
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)

    # -- reconcile ----------------------------------------------------------------------------------------

    @property
    def state(self):
        return self.params.get("state") or "present"

    def reconcile(self):
        current = self.find()
        if self.state == "absent":
            if current is not None and not self.module.check_mode:
                self.delete(current)
            before = self.display(current, self._shown_fields(current)) if current is not None else {}
            return self._result(current is not None, {}, before, {})

        desired = self.desired()
        if current is None:
            missing = [opt for opt in self.required_on_create if self.params.get(opt) in (None, "", [])]
            if missing:
                raise EngineError("To create %s %r, also give: %s."
                                  % (self.what, self.params[self.key], ", ".join(missing)))
            payload = self.complete_payload(self._payload(desired), None)
            if self.module.check_mode:
                return self._result(True, self._predict({}, payload), {}, self._shown(desired, payload))
            try:
                obj = self.reread(self.create(payload))
            except EngineError as exc:
                if not self.is_conflict(exc):
                    raise
                current = self.find()  # made meanwhile by someone else: converge on it instead
                if current is None:
                    raise
            else:
                self.verify(obj, payload)
                return self._result(True, obj, {}, self._shown(desired, payload, obj))

        changes = {}
        for field, value in desired.items():
            if field.secret:
                if self.params.get("update_secrets") == "always":
                    changes[field] = value
            elif not field.equal(self.read(current, field), value):
                if field.create_only:
                    self.warnings.append(
                        "%s %r exists with a different %s; it cannot be changed in place (delete and recreate "
                        "it to change it)." % (self.what, self.params[self.key], field.option))
                else:
                    changes[field] = value
        shown = [f for f in desired if not f.create_only]
        before = self.display(current, shown)
        if not changes:
            return self._result(False, current, before, before)
        payload = self.complete_payload(self._payload(changes), current)
        if self.module.check_mode:
            obj = self._predict(current, payload)
        else:
            self.update(current, payload)
            obj = self.reread(current)
            self.verify(obj, payload, current)
        return self._result(True, obj, before, self._masked(self.display(obj, shown), changes))

    def desired(self):
        """{Field: API value} for every option the user set, with references resolved to ids."""
        desired = {}
        for field in self.fields:
            value = self.params.get(field.option)
            if value is None:
                continue
            if field.ref is not None:
                value = self._resolve_all(field, value)
            if self.trims_text and not field.secret:
                value = trimmed(value)
            desired[field] = field.to_api(value)
        return desired

    def _resolve_all(self, field, value):
        if isinstance(value, list):
            return [self._resolve_one(field, v) for v in value]
        return self._resolve_one(field, value)

    def _resolve_one(self, field, value):
        if value == "":
            return None  # an empty string unsets a reference
        ident = self.resolve(field.ref, value)
        if ident is not None:
            return ident
        message = "%s %r (option %s) does not exist" % (field.ref.what, value, field.option)
        if field.ref.by.lower() != "name":
            message += " (looked up by %s)" % field.ref.by  # e.g. a flow's title given instead of its slug
        if self.module.check_mode:
            # In check mode it may be made by an earlier task that did not run for real.
            self.warnings.append(message + "; assuming an earlier task creates it.")
            return "<%s>" % value
        raise EngineError(message + ".")

    def _payload(self, values):
        return {field.api_name(self.version): value for field, value in values.items()}

    def verify(self, obj, payload, before=None):
        """authentik drops unknown fields silently: check that the server kept what was sent.

        Dropped (nothing stored, or the value of before the write kept) says the server may not support the
        field; a different value stored means the server normalised it, and the message shows what it keeps.
        """
        for field in self.fields:
            name = field.api_name(self.version)
            if field.secret or field.create_only or name not in payload:
                continue
            stored = self.read(obj, field)
            if field.equal(stored, payload[name]):
                continue
            previous = self.read(before, field) if before is not None else None
            if stored in (None, "", [], {}) or (before is not None and field.equal(stored, previous)):
                raise EngineError(
                    "The server accepted %s but did not store it (sent %r, it has %r); this server version may "
                    "not support it." % (field.option, payload[name], stored))
            raise EngineError(
                "The server stored %s differently: %r (sent %r); give the value as the server stores it, so that "
                "a rerun does not change it again." % (field.option, stored, payload[name]))

    def _predict(self, current, payload):
        predicted = dict(current)
        predicted.update(payload)
        for field in self.fields:
            if field.read_key and field.api_name(self.version) in payload:
                predicted[field.read_key] = payload[field.api_name(self.version)]
        return predicted

    # -- output -------------------------------------------------------------------------------------------

    def _secret_api_keys(self):
        return {field.api_name(self.version) for field in self.fields if field.secret}

    def _shown_fields(self, obj):
        return [f for f in self.fields if not f.secret and (f.read_key or f.api_name(self.version)) in obj]

    def display(self, obj, fields):
        """Managed fields of an API object as the user writes them (names rather than ids, option values)."""
        shown = {}
        for field in fields:
            if field.secret:
                continue
            value = field.from_api(self.read(obj, field))
            if field.ref is not None:
                if isinstance(value, list):
                    value = sorted(str(self.name_of(field.ref, v)) for v in value)
                elif value is not None:
                    value = self.name_of(field.ref, value)
            if field.format is not None and value is not None:
                value = field.format(value)
            shown[field.option] = value
        return shown

    def _shown(self, desired, payload, obj=None):
        return self._masked(self.display(obj if obj is not None else self._predict({}, payload), list(desired)),
                            desired)

    def _masked(self, shown, written):
        for field in written:
            if field.secret:
                shown[field.option] = MASK
        return shown

    def _result(self, changed, obj, before, after):
        result = {"changed": changed, self.result_key: self.result(obj) if obj else {},
                  "diff": {"before": before, "after": after}}
        if obj and self.state == "present":
            result.update(self.extras(obj))
        return result


class InfoResource(Resource):
    """A read-only module on the same path as a resource: options declared as Fields (their checks run before any
    request), the transport's connection, library checks and error handling; `gather()` returns what was read.

    It never writes: `changed` is always false, and check mode runs the same reads.
    """

    has_state = False

    def gather(self):
        raise NotImplementedError

    def reconcile(self):
        return dict(changed=False, **self.gather())
