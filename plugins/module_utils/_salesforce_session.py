# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``SalesforceSession``: one org connection for one module run, under ``RestClient`` and ``MetadataClient``.

It sends every request through ``_http.Http`` with the Salesforce retry policy, logs in lazily with the strategy
``_salesforce_login.select_login`` picked, logs in again once when the session expires, never retries the org's
daily API limit, counts the calls a module spends (``usage()``) and reads an error in any of Salesforce's shapes
(``describe_error``: a REST error array, an OAuth error, a SOAP fault).
"""

from __future__ import annotations

import random
import re
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.sso.authentik.plugins.module_utils._http import (
    MAYBE_APPLIED, REQUESTS_IMPORT_ERROR, RETRY, Backoff, Http, HttpError, Scrubber, WriteOutcomeUnknown, clean_token,
    cleartext_warning, connection_problem)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import (
    InvalidSession, SalesforceError, page_words, response_json, response_text)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import select_login
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import normalize_api_version
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_soap import parse_soap_fault

BACKOFF_BASE = 1.0  # seconds; doubled per attempt, with jitter
BACKOFF_MAX = 30.0


class SalesforceSession:
    """One org connection for one module run.

    Every request goes through ``_http.Http`` (backoff, Retry-After, lost answers, the redirect rule, TLS);
    ``_policy`` says which Salesforce answers are worth another try. Logs in lazily (once), logs in again once on
    INVALID_SESSION_ID when the strategy can, and never retries the org's daily API limit.

    ``calls`` counts the HTTP requests sent (logins and retries included); ``api_usage`` is the last
    ``api-usage`` reported by Salesforce (``{"used": n, "limit": m}``); ``limit_info`` holds every entry of the
    last ``Sforce-Limit-Info`` header. Every secret (given or obtained) is registered with ``scrubber``.
    """

    def __init__(self, login, api_version=None, validate_certs=True, ca_path=None, timeout=30, retries=4,
                 http=None, scrubber=None):
        if REQUESTS_IMPORT_ERROR is not None:
            raise SalesforceError(missing_required_lib("requests"))
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        login.register(self.scrubber)
        login.validate()  # bad input is refused before any request
        self.login_strategy = login
        self.instance_url = login.instance_url
        self.api_version = normalize_api_version(api_version) if api_version else None
        self._sleep = time.sleep
        self._random = random.random
        backoff = Backoff(BACKOFF_BASE, BACKOFF_MAX, sleep=self._wait, rand=self._jitter)
        self.transport = Http("Salesforce", "instance_url", validate_certs=validate_certs, ca_path=ca_path,
                              timeout=timeout, retries=retries, backoff=backoff, session=http, scrubber=self.scrubber)
        self.http = self.transport.session
        self.logins = 0
        self.api_usage = None
        self.limit_info = {}
        self.login_info = {}
        self.versions_cache = None
        self.warnings = [w for w in [cleartext_warning(self.instance_url, "instance_url", login.secret_names)] if w]
        self._token = None
        self._last_error = None

    @classmethod
    def from_params(cls, params, http=None, scrubber=None):
        problem = connection_problem(params)
        if problem:
            raise SalesforceError(problem)
        login = select_login(params)

        def opt(name, default):
            value = params.get(name)
            return default if value is None else value

        return cls(login, api_version=params.get("api_version"), validate_certs=opt("validate_certs", True),
                   ca_path=params.get("ca_path"), timeout=opt("timeout", 30), retries=opt("retries", 4), http=http,
                   scrubber=scrubber)

    # -- public ---------------------------------------------------------------------------------------------

    @property
    def calls(self):
        return self.transport.sent

    @property
    def retried(self):
        return self.transport.retried

    @property
    def access_token(self):
        """The access token (logs in first if needed)."""
        return self._ensure_token()

    def usage(self):
        """What a module reports about the calls it spent."""
        return {"calls": self.calls, "retries": self.retried, "logins": self.logins, "api_usage": self.api_usage}

    def url(self, path):
        if not isinstance(path, str):
            raise SalesforceError(f"Refusing to use {path!r} as a Salesforce URL")
        if path.startswith(("https://", "http://")):
            if not (path + "/").startswith(self.instance_url + "/"):
                raise SalesforceError(f"Refusing to send the session to {urlsplit(path).hostname}: not instance_url")
            return path
        return self.instance_url + "/" + path.lstrip("/")

    def request(self, method, path, params=None, json=None, data=None, headers=None, idempotent=None, bearer=True,
                operation=None):
        """Send an authenticated request and return the successful ``requests.Response``.

        ``data`` may be a callable taking the access token (SOAP carries the session id in the body, which must
        be rebuilt after a re-login). ``idempotent`` (default: GET/HEAD) allows retrying after errors where the
        request may already have been applied (timeouts, 502/504). Only reads follow redirects.
        """
        method = method.upper()
        url = self.url(path)
        what = operation or f"{method} {urlsplit(url).path}"
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "OPTIONS")
        relogged = False
        while True:
            token = self._ensure_token()
            all_headers = dict(headers or {})
            if bearer:
                all_headers["Authorization"] = "Bearer " + token
            body = data(token) if callable(data) else data
            try:
                return self._send(method, url, what, idempotent, authed=True, params=params, json=json, data=body,
                                  headers=all_headers)
            except InvalidSession as exc:
                if relogged or not self.login_strategy.can_relogin:
                    raise self._expired_error(what, exc, relogged) from None
                self._token = None  # log in again, then repeat the call once
                relogged = True

    def send_unauthenticated(self, method, url, operation=None, **kwargs):
        """For the token endpoint: retries transient failures, never follows a redirect (the form carries the
        secret or the signed JWT), returns any other response unchecked."""
        url = self.url(url)
        return self._send(method.upper(), url, operation or f"{method} {urlsplit(url).path}", True, authed=False,
                          check=False, **kwargs)

    # -- internals ------------------------------------------------------------------------------------------

    def _wait(self, seconds):
        self._sleep(seconds)  # looked up at each wait: tests replace _sleep and _random after construction

    def _jitter(self):
        return self._random()

    def _ensure_token(self):
        if self._token is None:
            try:
                info = self.login_strategy.login(self)
            except HttpError as exc:  # the token endpoint's text may quote what it was sent
                raise self._error(exc.msg, exc.status, exc.code) from None
            token = info.get("access_token") if isinstance(info, dict) else None
            if not isinstance(token, str):
                raise SalesforceError("The token endpoint answered without an access token")
            self._token = self.scrubber.add(clean_token(token, "The access token the token endpoint returned"))
            self.logins += 1
            self.login_info = {k: v for k, v in info.items()
                               if k in ("instance_url", "id", "scope", "issued_at") and isinstance(v, str)}
        return self._token

    def _policy(self, response, idempotent):
        """The Salesforce retry policy (see _http.Http.send); also tracks the API usage of every answer."""
        self._track_limits(response)
        self._last_error = None
        status = response.status_code
        if status < 400:
            return None
        code, message, _fields = self._last_error = describe_error(response)
        if code == "REQUEST_LIMIT_EXCEEDED":
            return RETRY if _is_concurrent_limit(message) else None  # the daily limit does not go away by waiting
        if status == 401 or code == "INVALID_SESSION_ID":
            return None  # a new login, not a retry
        if status in (429, 503):
            return RETRY  # throttled, maintenance or overload: not processed
        if status in (502, 504) or code == "UNKNOWN_EXCEPTION":
            return MAYBE_APPLIED  # may have been processed: repeated only when safe to repeat
        return None

    def _send(self, method, url, what, idempotent, authed, check=True, **kwargs):
        try:
            response = self.transport.send(method, url, what, idempotent=idempotent, policy=self._policy, **kwargs)
        except WriteOutcomeUnknown as exc:
            text = exc.msg
            if self._last_error and self._last_error[0]:
                text = text.rstrip(".") + f" (Salesforce said {self._last_error[0]}: {self._last_error[1]})."
            raise WriteOutcomeUnknown(self.scrubber.text(text), status=exc.status, code=(self._last_error or [None])[0])
        except HttpError as exc:
            raise self._error(exc.msg, exc.status, exc.code) from None
        status = response.status_code
        if status < 400:
            return response
        code, message, fields = self._last_error or describe_error(response)
        if authed and (status == 401 or code == "INVALID_SESSION_ID"):
            raise InvalidSession(self.scrubber.text(message), status=status, code="INVALID_SESSION_ID")
        if code == "REQUEST_LIMIT_EXCEEDED" and not _is_concurrent_limit(message):
            raise self._error(self._limit_message(what, message), status, code)
        if not check:
            return response
        text = f"{what} failed with HTTP {status}" + (f" {code}" if code else "") + f": {message}"
        if fields:
            text += f" (fields: {', '.join(fields)})"
        attempts = getattr(response, "attempts", 1)
        if attempts > 1:
            text += f" (after {attempts} attempts)"
        raise self._error(text, status, code)

    def _track_limits(self, response):
        info = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if info:
            self.limit_info = info
            if "api-usage" in info:
                self.api_usage = info["api-usage"]

    def _limit_message(self, what, message):
        if "TotalRequests" in message:
            text = (f"{what}: the org's daily API request limit is used up (REQUEST_LIMIT_EXCEEDED: {message}). "
                    "Not retrying: wait until usage drops (the limit is a rolling 24 hours) or raise the limit")
        else:
            text = f"{what}: Salesforce refused the call because an API limit was exceeded: {message}. Not retrying"
        if self.api_usage:
            text += f" (last seen usage {self.api_usage['used']}/{self.api_usage['limit']})"
        return text

    def _expired_error(self, what, exc, relogged):
        if relogged:
            text = (f"{what}: Salesforce rejected the session (INVALID_SESSION_ID: {exc.message}) even right after a "
                    f"new {self.login_strategy.name} login; check that the app grants the api scope")
        else:
            text = (f"{what}: Salesforce rejected the access token (INVALID_SESSION_ID: {exc.message}): it has "
                    "expired or was revoked. Get a new one, or give client_id with a private key or client_secret "
                    "so that the module can log in by itself")
        return self._error(text, exc.status, "INVALID_SESSION_ID")

    def _error(self, message, status=None, code=None):
        """Error texts never carry a secret, even if a server echoes it."""
        return SalesforceError(self.scrubber.text(message), status=status, code=code)


def _is_concurrent_limit(message):
    return "concurrent" in (message or "").lower()


_LIMIT_INFO_RE = re.compile(r"([\w-]+)=(\d+)/(\d+)(?:\(appName=([^)]*)\))?")


def parse_limit_info(header):
    """``api-usage=10018/100000; per-app-api-usage=17/250(appName=x)`` ->
    ``{"api-usage": {"used": 10018, "limit": 100000}, "per-app-api-usage": {"used": 17, "limit": 250, "app": "x"}}``
    """
    result = {}
    for name, used, limit, app in _LIMIT_INFO_RE.findall(header or ""):
        result[name] = {"used": int(used), "limit": int(limit)}
        if app:
            result[name]["app"] = app
    return result


def describe_error(response):
    """(code, message, fields) from a REST error array, an OAuth error or a SOAP fault; never raises."""
    text = response_text(response)
    if text.lstrip().startswith("<"):
        fault = parse_soap_fault(response.content)
        if fault:
            return fault
    try:
        body = response_json(response)
    except ValueError:
        body = None
    if isinstance(body, dict):
        body = [body]
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        first = body[0]
        if "error" in first and "errorCode" not in first:  # OAuth: {"error", "error_description"}
            return first.get("error"), first.get("error_description") or first.get("error"), []
        messages = [str(item.get("message") or item.get("detail") or item.get("errorCode") or "") for item in body]
        fields = [field for item in body for field in (item.get("fields") or [])]
        return first.get("errorCode"), "; ".join(m for m in messages if m) or page_words(response), fields
    return None, page_words(response), []
