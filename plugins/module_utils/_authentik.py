# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client for the authentik REST API (/api/v3/), shared by every authentik module.

Retries, redirects, TLS and secret scrubbing are the shared layer's (`_http.Http`); this file states authentik's
retry policy, turns its answers into sentences and checks that each answer has the shape it should.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback
from ansible_collections.sso.authentik.plugins.module_utils._engine import (
    EngineError,
    InfoResource,
    Resource,
    check_http_url,
    path_segment,
)
from ansible_collections.sso.authentik.plugins.module_utils._http import (
    REQUESTS_IMPORT_ERROR,
    Backoff,
    Http,
    HttpError,
    Scrubber,
    WriteOutcomeUnknown,
    clean_token,
    cleartext_warning,
    connection_problem,
    default_policy,
    error_page_words,
)

__all__ = ["REQUESTS_IMPORT_ERROR", "WriteOutcomeUnknown"]  # re-exported for the modules and tests

USER_AGENT = "sso.authentik-ansible/0.1.0"


def authentik_argument_spec():
    """The connection options every authentik module takes (documented in doc_fragments/authentik.py)."""
    return dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["AUTHENTIK_URL"])),
        token=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["AUTHENTIK_TOKEN"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["AUTHENTIK_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["AUTHENTIK_CA_PATH"])),
        timeout=dict(type="int", default=30, fallback=(env_fallback, ["AUTHENTIK_TIMEOUT"])),
        retries=dict(type="int", default=4, fallback=(env_fallback, ["AUTHENTIK_RETRIES"])),
    )


class AuthentikError(HttpError):
    """A failed API call, in one sentence; `status` and `body` go into the module result."""

    def __init__(self, msg, status=None, body=None, code=None):
        super().__init__(msg, status=status, code=code, body=body)
        if body is not None:
            self.details["body"] = body


# The oldest and the newest release line the collection supports (the role's preflight checks the same range).
SUPPORTED_RANGE = ((2025, 10), (2026, 8))


def supported_range_text():
    return "%s to %s" % tuple(".".join(map(str, line)) for line in SUPPORTED_RANGE)


def parse_version(text):
    """'2025.12.4' -> (2025, 12, 4); anything unparsable after the numbers is dropped ('2026.11.0-rc1')."""
    parts = []
    for piece in str(text).split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_expression(expression, option="expression"):
    """Refuse a property-mapping expression with a syntax error before sending it.

    authentik runs an expression as the body of a function, so `return` is allowed at its top level.
    """
    if expression is None:
        return
    body = "".join("    " + line + "\n" for line in expression.splitlines()) or "    pass\n"
    try:
        compile("def expression():\n" + body, option, "exec")
    except SyntaxError as exc:
        raise EngineError("%s has a Python syntax error on line %s: %s" % (option, exc.lineno - 1, exc.msg))


def describe_error_body(body):
    """Turn DRF error bodies ({field: [msgs]}, non_field_errors, detail, bare lists) into one line."""
    if isinstance(body, dict):
        if set(body) <= {"detail", "code"} and "detail" in body:
            return str(body["detail"])
        parts = []
        for field, messages in body.items():
            if field == "code":
                continue
            if isinstance(messages, list):
                messages = "; ".join(str(m) for m in messages)
            elif isinstance(messages, dict):
                messages = describe_error_body(messages)
            parts.append("%s: %s" % (field, messages) if field != "non_field_errors" else str(messages))
        return "; ".join(parts)
    if isinstance(body, list):
        return "; ".join(str(m) for m in body)
    return str(body or "").strip()[:300]


class AuthentikClient:
    """Bearer-token session over /api/v3/ with bounded retries, pagination, exact lookups and a per-run cache."""

    def __init__(self, url, token, validate_certs=True, ca_path=None, timeout=30, retries=4, sleep=time.sleep,
                 scrubber=None, session=None):
        check_http_url(url, "url")
        parts = urlsplit(url)
        if parts.query or parts.fragment or url.rstrip("/").endswith("?") or "#" in url:
            raise AuthentikError("url must be the authentik server's address without a query or fragment, got %r."
                                 % Scrubber().text(url))
        if "@" in parts.netloc:
            raise AuthentikError("url must not hold a user name or password (%s); the token authenticates."
                                 % Scrubber().text(url))
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.scrubber.add(token)
        token = clean_token(token, "token")
        self.scrubber.add(token)
        self.url = url.rstrip("/")
        self.base = self.url + "/api/v3"
        self.warnings = []
        warning = cleartext_warning(self.url, "url", ["token"])
        if warning:
            self.warnings.append(warning)
        self.http = Http("authentik", "url", validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
                         retries=retries, backoff=Backoff(0.25, 8.0, sleep=sleep), session=session,
                         scrubber=self.scrubber)
        self.sleep = sleep
        self.session = self.http.session
        self.session.headers.update(
            {"Authorization": "Bearer %s" % token, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self._version = None
        self.version_text = None  # as the server reported it, once `version` was read
        self._ref_cache = {}
        self.requests_sent = []

    @classmethod
    def from_params(cls, params, scrubber=None):
        problem = connection_problem(params)
        if problem:
            raise AuthentikError(problem)
        return cls(
            params["url"],
            params["token"],
            validate_certs=params["validate_certs"],
            ca_path=params.get("ca_path"),
            timeout=params["timeout"],
            retries=params["retries"],
            scrubber=scrubber,
        )

    # -- transport ---------------------------------------------------------------------------------------

    def request(self, method, path, params=None, json=None, not_found_ok=False):
        """Send one API call; returns the decoded JSON, None for 204 or an allowed 404.

        Only POST may create something twice, so only a POST whose answer was lost is a WriteOutcomeUnknown;
        PATCH, DELETE and GET are repeated.
        """
        url = self.base + path
        what = "%s %s" % (method, "/api/v3" + path)
        self.requests_sent.append((method, path))
        try:
            resp = self.http.send(method, url, what, idempotent=method != "POST", policy=default_policy,
                                  params=params, json=json)
        except WriteOutcomeUnknown:
            raise
        except HttpError as exc:
            raise AuthentikError(self.scrubber.text(exc.msg), status=exc.status)
        attempt = getattr(resp, "attempts", 1) - 1
        if resp.status_code == 404 and not_found_ok:
            return None
        if resp.status_code >= 400:
            raise self._error(what, resp, attempt)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise AuthentikError(
                "%s: HTTP %d but the answer is not JSON (is %s really an authentik server?)"
                % (what, resp.status_code, self.url),
                status=resp.status_code,
            )

    def _error(self, what, resp, attempt):
        try:
            body = resp.json()
        except ValueError:
            body = error_page_words(resp.text)  # proxies and error pages answer in HTML: the words, not the markup
        detail = describe_error_body(body)
        status = resp.status_code
        if status == 403:
            sentence = "%s: HTTP 403, the token is invalid or lacks permission (%s)" % (what, detail or "forbidden")
        elif status == 405 and not detail:
            sentence = "%s: HTTP 405 with an empty answer (the server failed to process this request)" % what
        else:
            sentence = "%s: HTTP %d%s" % (what, status, ": " + detail if detail else "")
        if attempt:
            sentence += " (after %d retries)" % attempt
        return AuthentikError(sentence, status=status, body=body)

    def get(self, path, params=None, not_found_ok=False):
        return self.request("GET", path, params=params, not_found_ok=not_found_ok)

    def get_object(self, path, params=None, not_found_ok=False, keys=()):
        """GET of one object: a dict with `keys`, else a sentence (never a KeyError further on)."""
        data = self.get(path, params=params, not_found_ok=not_found_ok)
        if data is None and not_found_ok:
            return None
        return self.expect_object(data, "GET /api/v3" + path, keys)

    @staticmethod
    def expect_object(data, what, keys=()):
        if not isinstance(data, dict):
            raise AuthentikError("%s: the answer is %s where an object was expected; is url an authentik server?"
                                 % (what, _kind(data)))
        missing = [key for key in keys if key not in data]
        if missing:
            raise AuthentikError("%s: the answer has no %s; is url an authentik server of a supported version?"
                                 % (what, ", ".join(repr(key) for key in missing)))
        return data

    def post(self, path, body):
        return self.expect_object(self.request("POST", path, json=body), "POST /api/v3" + path)

    def patch(self, path, body):
        return self.expect_object(self.request("PATCH", path, json=body), "PATCH /api/v3" + path)

    def delete(self, path):
        return self.request("DELETE", path, not_found_ok=True)

    # -- reading -----------------------------------------------------------------------------------------

    def list(self, path, params=None):
        """Every object of a list endpoint, following `pagination.next` (a page number; 0 means none)."""
        query = dict(params or {})
        query["page_size"] = 100
        page, results = 1, []
        what = "GET /api/v3" + path
        while True:
            query["page"] = page
            data = self.expect_object(self.get(path, params=query), what, ("results",))
            rows = data["results"]
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise AuthentikError("%s: 'results' is not a list of objects; is url an authentik server?" % what)
            results.extend(rows)
            pagination = data.get("pagination") or {}
            following = pagination.get("next") if isinstance(pagination, dict) else None
            if not following:
                return results
            if not isinstance(following, int) or isinstance(following, bool) or following <= page:
                raise AuthentikError("%s: pagination.next is %r after page %d, not a later page number."
                                     % (what, following, page))
            page = following

    def find(self, path, filters, what, match=None):
        """The one object matching exact filters, or None; more than one is an error, never a guess.

        The results are checked against the filters (or `match`) too: authentik ignores unknown filters
        silently, and a lookup that quietly returned everything must not pick an arbitrary object.
        """
        match = filters if match is None else match
        found = [obj for obj in self.list(path, filters) if _matches(obj, match)]
        if len(found) > 1:
            raise AuthentikError(
                "%d %s objects match %s; make the name unique or remove the duplicates"
                % (len(found), what, _describe(match))
            )
        return found[0] if found else None

    def resolve(self, ref, value):
        """The id of the object a person named (a Ref tells where and how to look); cached for the run."""
        cache_key = (ref.path, value)
        if cache_key not in self._ref_cache:
            if ref.item:
                obj = self.get_object("%s%s/" % (ref.path, path_segment(value, ref.what)), not_found_ok=True)
            else:
                obj = self.find(ref.path, ref.filters(value), ref.what, match=ref.match(value))
            if obj is not None and ref.id_field not in obj:
                raise AuthentikError("%s %r: the answer has no %r; is url an authentik server of a supported "
                                     "version?" % (ref.what, value, ref.id_field))
            self._ref_cache[cache_key] = None if obj is None else obj[ref.id_field]
        return self._ref_cache[cache_key]

    def name_of(self, ref, ident):
        """The name a person used for an id resolved earlier in this run (for diffs), or the id itself."""
        for (path, value), known in self._ref_cache.items():
            if path == ref.path and known == ident and known is not None:
                return value
        return ident

    @property
    def version(self):
        """The server's version as a tuple, read once per run from /admin/version/."""
        if self._version is None:
            data = self.get_object("/admin/version/")
            self.version_text = data.get("version_current")
            self._version = parse_version(data.get("version_current") or "")
            if not self._version:
                raise AuthentikError("GET /api/v3/admin/version/ did not report a version (version_current is %r)"
                                     % (data.get("version_current"),))
            if not SUPPORTED_RANGE[0] <= self._version[:2] <= SUPPORTED_RANGE[1]:
                self.warnings.append("authentik %s is outside the supported range (%s); fields that changed may be "
                                     "set wrongly or not at all." % (data["version_current"], supported_range_text()))
        return self._version


def _kind(data):
    if data is None:
        return "empty"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(data), "a %s" % type(data).__name__)


def _matches(obj, filters):
    for key, wanted in filters.items():
        if key in obj and not isinstance(wanted, (list, tuple)) and str(obj[key]) != str(wanted):
            if not (isinstance(obj[key], bool) and str(obj[key]).lower() == str(wanted).lower()):
                return False
    return True


def _describe(filters):
    return ", ".join("%s=%r" % item for item in sorted(filters.items()))


class AuthentikResource(Resource):
    """A Resource stored in authentik's REST API: `path` is the collection endpoint under /api/v3."""

    path = None
    key_filter = None  # the list filter matching `key` (defaults to the key's API name)
    item_lookup = False  # find with GET <path><key>/ (applications: the list is filtered by policy)
    item_field = "pk"  # the object field that forms its URL
    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)
    trims_text = True  # DRF's CharField strips leading and trailing whitespace

    def connection_spec(self):
        return authentik_argument_spec()

    def connect(self):
        return AuthentikClient.from_params(self.params, scrubber=getattr(self.module, "scrubber", None))

    @property
    def version(self):
        if self.client is not None and any(field.renamed for field in self.fields):
            return self.client.version
        return None

    def item_path(self, obj):
        if not isinstance(obj, dict):
            raise AuthentikError("%s: the server answered %s where the object was expected." % (self.what, _kind(obj)))
        return "%s%s/" % (self.path, path_segment(obj.get(self.item_field), "%s %s" % (self.what, self.item_field)))

    def find(self):
        value = self.params[self.key]
        if self.item_lookup:
            return self.client.get_object("%s%s/" % (self.path, path_segment(value, self.key)), not_found_ok=True)
        return self.client.find(self.path, {self.key_filter or self.key: value}, self.what)

    def create(self, payload):
        try:
            return self.client.post(self.path, payload)
        except WriteOutcomeUnknown:
            # The answer was lost: the object may exist now. Look before creating it again.
            found = self.find()
            return found if found is not None else self.client.post(self.path, payload)

    def update(self, current, payload):
        return self.client.patch(self.item_path(current), payload)

    def delete(self, current):
        self.client.delete(self.item_path(current))

    def reread(self, obj):
        return self.client.get_object(self.item_path(obj))

    def is_conflict(self, error):
        body = getattr(error, "body", None)
        key_api = self.key_filter or self.key
        return getattr(error, "status", None) == 400 and isinstance(body, dict) and key_api in body and \
            "already exists" in str(body[key_api])


class AuthentikInfo(InfoResource):
    """A read-only authentik module: the connection options, the client, and `gather()` (see InfoResource)."""

    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)

    def connection_spec(self):
        return authentik_argument_spec()

    def connect(self):
        return AuthentikClient.from_params(self.params, scrubber=self.module.scrubber)
