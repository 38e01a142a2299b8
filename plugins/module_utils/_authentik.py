# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client for the authentik REST API (/api/v3/), shared by every authentik module."""

from __future__ import annotations

import random
import re
import time
import traceback

from ansible.module_utils.basic import env_fallback
from ansible_collections.sso.authentik.plugins.module_utils._engine import (
    EngineError,
    Resource,
    check_http_url,
    connection_problem,
)

try:
    import requests

    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

USER_AGENT = "sso.authentik-ansible/0.1.0"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Statuses worth another try: the server is busy or a proxy could not reach it.
TRANSIENT_STATUSES = (429, 502, 503, 504)
# Statuses that prove a POST was not processed, so it may be repeated as it is.
POST_NOT_PROCESSED = (429, 503)
MAX_RETRY_AFTER = 60


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


class AuthentikError(EngineError):
    """A failed API call, in one sentence; `status` and `body` go into the module result."""

    def __init__(self, msg, status=None, body=None):
        super().__init__(msg, status=status, body=body)
        self.status = status
        self.body = body


class WriteOutcomeUnknown(AuthentikError):
    """A POST whose answer was lost: the object may or may not exist now. Look it up before trying again."""


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

    def __init__(self, url, token, validate_certs=True, ca_path=None, timeout=30, retries=4, sleep=time.sleep):
        check_http_url(url, "url")
        self.url = url.rstrip("/")
        self.base = self.url + "/api/v3"
        self.timeout = timeout
        self.retries = max(0, retries)
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": "Bearer %s" % token, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self.session.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self._version = None
        self._ref_cache = {}
        self.requests_sent = []

    @classmethod
    def from_params(cls, params):
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
        )

    # -- transport ---------------------------------------------------------------------------------------

    def request(self, method, path, params=None, json=None, not_found_ok=False, raw=False):
        """Send one API call; returns the decoded JSON (or text with raw=True), None for 204 or an allowed 404."""
        url = self.base + path
        what = "%s %s" % (method, "/api/v3" + path)
        attempt = 0
        while True:
            self.requests_sent.append((method, path))
            try:
                # verify per request: requests lets REQUESTS_CA_BUNDLE override the session's verify (the CA
                # of ca_path, or validate_certs false) but never a request's own.
                resp = self.session.request(method, url, params=params, json=json, timeout=self.timeout,
                                            verify=self.session.verify)
            except requests.exceptions.SSLError as exc:
                raise AuthentikError(
                    "%s: TLS verification of %s failed (%s). Give the CA bundle with ca_path, or set "
                    "validate_certs to false for a test server." % (what, self.url, _short(exc))
                )
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                # A POST that may have reached the server must not be repeated blindly: the caller looks up first.
                reached = not isinstance(exc, requests.exceptions.ConnectTimeout) and not _refused(exc)
                if method == "POST" and reached:
                    raise WriteOutcomeUnknown("%s: no answer from %s (%s)" % (what, self.url, _short(exc)))
                if attempt >= self.retries:
                    raise AuthentikError(
                        "%s: cannot reach authentik at %s after %d attempt(s): %s"
                        % (what, self.url, attempt + 1, _short(exc))
                    )
                attempt += 1
                self._sleep(_backoff(attempt, None))
                continue

            if resp.status_code in TRANSIENT_STATUSES:
                if method == "POST" and resp.status_code not in POST_NOT_PROCESSED:
                    raise WriteOutcomeUnknown("%s: HTTP %d from %s" % (what, resp.status_code, self.url))
                if attempt < self.retries:
                    attempt += 1
                    self._sleep(_backoff(attempt, resp.headers.get("Retry-After")))
                    continue
            if resp.status_code == 404 and not_found_ok:
                return None
            if resp.status_code >= 400:
                raise self._error(what, resp, attempt)
            if resp.status_code == 204 or not resp.content:
                return None
            if raw:
                return resp.text
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
            # Proxies and error pages answer in HTML: keep the words, not the markup.
            body = " ".join(re.sub(r"<[^>]+>", " ", resp.text).split())[:300]
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

    def post(self, path, body):
        return self.request("POST", path, json=body)

    def patch(self, path, body):
        return self.request("PATCH", path, json=body)

    def delete(self, path):
        return self.request("DELETE", path, not_found_ok=True)

    # -- reading -----------------------------------------------------------------------------------------

    def list(self, path, params=None):
        """Every object of a list endpoint, following `pagination.next` (a page number; 0 means none)."""
        query = dict(params or {})
        query["page_size"] = 100
        page, results = 1, []
        while True:
            query["page"] = page
            data = self.get(path, params=query)
            results.extend(data.get("results", []))
            page = (data.get("pagination") or {}).get("next") or 0
            if not page:
                return results

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
                obj = self.get("%s%s/" % (ref.path, value), not_found_ok=True)
            else:
                obj = self.find(ref.path, ref.filters(value), ref.what, match=ref.match(value))
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
            data = self.get("/admin/version/")
            self._version = parse_version(data.get("version_current", ""))
            if not self._version:
                raise AuthentikError("GET /api/v3/admin/version/ did not report a version: %r" % (data,))
        return self._version


def _matches(obj, filters):
    for key, wanted in filters.items():
        if key in obj and not isinstance(wanted, (list, tuple)) and str(obj[key]) != str(wanted):
            if not (isinstance(obj[key], bool) and str(obj[key]).lower() == str(wanted).lower()):
                return False
    return True


def _describe(filters):
    return ", ".join("%s=%r" % item for item in sorted(filters.items()))


def _backoff(attempt, retry_after):
    """Seconds to wait before retry `attempt` (1-based): Retry-After when given, else exponential with jitter."""
    if retry_after:
        try:
            return min(float(retry_after), MAX_RETRY_AFTER)
        except ValueError:
            pass
    return min(8.0, 0.25 * (2 ** (attempt - 1))) * (0.5 + random.random() / 2)


def _refused(exc):
    text = str(exc)
    return "Connection refused" in text or "NewConnectionError" in text or "Name or service not known" in text


# What is worth saying of a requests error: "Connection refused", "Read timed out", not its whole chain.
_ERROR_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)|(Read timed out|Connection aborted|RemoteDisconnected\([^)]*\)"
                           r"|certificate verify failed[^'\")]*)")


def _short(exc):
    text = str(exc)
    reason = _ERROR_REASON.search(text)
    if reason:
        return (reason.group(1) or reason.group(2)).strip()
    return text if len(text) < 240 else text[:240] + "..."


class AuthentikResource(Resource):
    """A Resource stored in authentik's REST API: `path` is the collection endpoint under /api/v3."""

    path = None
    key_filter = None  # the list filter matching `key` (defaults to the key's API name)
    item_lookup = False  # find with GET <path><key>/ (applications: the list is filtered by policy)
    item_field = "pk"  # the object field that forms its URL
    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)

    def connection_spec(self):
        return authentik_argument_spec()

    def connect(self):
        return AuthentikClient.from_params(self.params)

    @property
    def version(self):
        if self.client is not None and any(field.renamed for field in self.fields):
            return self.client.version
        return None

    def item_path(self, obj):
        return "%s%s/" % (self.path, obj[self.item_field])

    def find(self):
        value = self.params[self.key]
        if self.item_lookup:
            return self.client.get("%s%s/" % (self.path, value), not_found_ok=True)
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
        return self.client.get(self.item_path(obj))

    def is_conflict(self, error):
        body = getattr(error, "body", None)
        key_api = self.key_filter or self.key
        return getattr(error, "status", None) == 400 and isinstance(body, dict) and key_api in body and \
            "already exists" in str(body[key_api])
