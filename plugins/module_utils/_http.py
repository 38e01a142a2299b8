# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP plumbing shared by the authentik and the Salesforce transports.

One place decides, for both APIs: how long to wait before another try (backoff with jitter, ``Retry-After`` in
seconds or as an HTTP date), whether a request that lost its answer may have reached the server, which
redirects are followed (only reads, and without credentials when they leave the host), TLS verification, the
words of an HTML error page, the shape of a token, and how secrets are kept out of every message
(``Scrubber``). A transport states its own retry policy as a function of the response; the loop is here.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import os
import random
import re
import time
import traceback
from urllib.parse import quote, quote_plus, urljoin, urlsplit

from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError

try:
    import requests
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

MASK = "********"
RETRY_AFTER_MAX = 60.0  # a longer Retry-After is not believed: the default backoff applies
MAX_REDIRECTS = 5
# What a retry policy says of a response: worth another try, or final.
RETRY = "retry"  # not processed (429, 503): repeat it, whatever the method
MAYBE_APPLIED = "maybe-applied"  # may have been processed (502, 504): repeat only what is safe to repeat


class HttpError(EngineError):
    """A failed HTTP exchange in one sentence; ``status``, ``code`` and ``body`` tell the caller more."""

    def __init__(self, msg, status=None, code=None, body=None):
        super().__init__(msg, status=status, error_code=code)
        self.status = status
        self.code = code
        self.body = body


class WriteOutcomeUnknown(HttpError):
    """A write that is not safe to repeat lost its answer: it may or may not have been applied. Look the
    object up before sending it again."""


# -- secrets ------------------------------------------------------------------------------------------------------

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"<>]+@")
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=!-]{8,}")


def secret_forms(secret):
    """Every spelling in which a secret can end up in a message: raw, stripped, escaped, URL-encoded, lines."""
    if not isinstance(secret, str) or not secret:
        return set()
    forms = set()
    for spelling in (secret, secret.strip()):  # a trailing newline is dropped before use: both are seen
        forms.update({spelling, repr(spelling)[1:-1], quote(spelling, safe=""), quote_plus(spelling),
                      spelling.encode("unicode_escape").decode("ascii")})
    forms.update(line.strip() for line in secret.splitlines())  # a PEM or a multi-line value, line by line
    return {form for form in forms if len(form) >= 4}


class Scrubber:
    """Replaces every known secret, in every form, and the credentials of any URL, in text and nested values."""

    def __init__(self, secrets=()):
        self._forms = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret):
        self._forms.update(secret_forms(secret))
        return secret

    def text(self, text):
        if not isinstance(text, str):
            return text
        for form in sorted(self._forms, key=len, reverse=True):  # longest first: a form may contain another
            if form in text:
                text = text.replace(form, MASK)
        text = _USERINFO.sub(lambda match: match.group(1) + MASK + "@", text)
        return _BEARER.sub(lambda match: match.group(1) + " " + MASK, text)

    def value(self, value):
        """A copy of a result: strings scrubbed, dicts and lists walked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value


def clean_token(value, option):
    """A token as an HTTP header can carry it: a trailing newline (a vault block scalar) is dropped; whitespace
    inside, control or non-ASCII characters are refused without echoing the token."""
    if value is None:
        return None
    token = value.strip()
    if not token:
        raise EngineError("%s is empty." % option)
    if any(char.isspace() for char in token):
        raise EngineError("%s contains whitespace inside it; give the bare token (without 'Bearer ')." % option)
    if not token.isascii() or not token.isprintable():
        raise EngineError("%s contains characters that cannot be sent in an HTTP header (non-ASCII or control "
                          "characters); check how the secret was copied." % option)
    return token


def is_loopback(host):
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cleartext_warning(url, option, secret_names):
    """A warning when a secret would travel over plain http:// to a host other than this machine, else None."""
    parts = urlsplit(url or "")
    if parts.scheme != "http" or is_loopback(parts.hostname):
        return None
    return ("%s uses plain http:// to %s: the %s travel(s) unencrypted over the network. Use https://."
            % (option, parts.hostname, " and ".join(secret_names)))


# -- waiting ------------------------------------------------------------------------------------------------------

def retry_after_seconds(value, now=None):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None when it is absent or not
    believable (negative, nan, infinite, above RETRY_AFTER_MAX, garbage): the default backoff applies then."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        try:
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (OverflowError, ValueError, OSError):
            return None
        seconds = max(0.0, seconds)  # a date in the past: go now
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0 or seconds > RETRY_AFTER_MAX:
        return None
    return seconds


class Backoff:
    """Exponential backoff with jitter, capped; a believable Retry-After is waited for instead."""

    def __init__(self, base, cap, sleep=time.sleep, rand=random.random):
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.rand = rand

    def delay(self, attempt, retry_after=None):
        """Seconds before retry number `attempt` (1-based)."""
        seconds = retry_after_seconds(retry_after)
        if seconds is not None:
            return seconds
        delay = min(self.cap, self.base * 2 ** (attempt - 1))
        return delay / 2 + self.rand() * delay / 2  # jitter: parallel runs do not retry in step

    def wait(self, attempt, retry_after=None):
        seconds = self.delay(attempt, retry_after)
        self.sleep(seconds)
        return seconds


# -- what an error means ------------------------------------------------------------------------------------------

def reached_server(exc):
    """Whether a failed request may have reached the server (then a write's outcome is unknown).

    Nothing was sent when the connection was never made: refused, name not resolved, connect timeout, TLS
    handshake failed. Anything later (read timeout, connection reset, dropped answer) may have been processed.
    """
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if not isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return False
    if isinstance(exc, requests.exceptions.ProxyError):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError -> its cause
    return not any(cls.__name__ == "NewConnectionError" for cls in type(reason).__mro__)


_TAGS = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>|<[^>]*>")


def error_page_words(text, limit=300):
    """The words of an error page (HTML or not), on one line, at most `limit` characters."""
    text = _TAGS.sub(" ", text or "")
    text = " ".join(text.replace("\x00", " ").split())
    return text if len(text) <= limit else text[:limit] + "..."


def describe_exception(exc, timeout):
    """What is worth saying of a requests exception, without its chain of internals."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed (%s)" % _tls_reason(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "the connection timed out after %s seconds" % timeout
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within %s seconds" % timeout
    if isinstance(exc, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        for needle, words in (("refused", "connection refused"), ("Name or service not known", "unknown host"),
                              ("nodename nor servname", "unknown host"), ("Temporary failure in name", "unknown host"),
                              ("reset by peer", "connection reset"), ("RemoteDisconnected", "connection closed "
                              "without an answer"), ("aborted", "connection closed without an answer")):
            if needle in text:
                return words
        return "the connection failed"
    return "the request could not be sent (%s)" % type(exc).__name__


def _tls_reason(exc):
    match = re.search(r"certificate verify failed: ([^'\")(]+)", str(exc))
    if match:
        return "certificate verify failed: " + match.group(1).strip()
    return "handshake failed"


# -- TLS ----------------------------------------------------------------------------------------------------------

def session_verify(validate_certs, ca_path):
    """requests' `verify`: the CA file when given, True, or False. Passed with every request, since requests lets
    REQUESTS_CA_BUNDLE override a session's verify but never a request's own."""
    if not validate_certs:
        return False
    return ca_path or True


def connection_problem(params):
    """What is wrong with the connection options timeout, retries and ca_path, in a sentence, or None.

    Checked before the first request: a timeout below 1 second or an unreadable CA file would otherwise only
    surface as a low-level error of the HTTP library.
    """
    timeout = params.get("timeout")
    if timeout is not None and timeout < 1:
        return "timeout must be at least 1 second, got %s." % timeout
    retries = params.get("retries")
    if retries is not None and not 0 <= retries <= 20:
        return "retries must be between 0 and 20, got %s." % retries
    ca_path = params.get("ca_path")
    if ca_path and params.get("validate_certs") is not False and not os.access(ca_path, os.R_OK):
        return ("ca_path %s cannot be read: give the PEM file of the CA that signed the server's certificate."
                % ca_path)
    return None


# -- the request loop ---------------------------------------------------------------------------------------------

def default_policy(response, idempotent):
    """Transient statuses: 429 and 503 were not processed; 502 and 504 may have been."""
    if response.status_code in (429, 503):
        return RETRY
    if response.status_code in (502, 504):
        return MAYBE_APPLIED
    return None


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(
        parts.scheme.lower()))


class Http:
    """One API's HTTP: a requests session, TLS settings, timeout, retries and the redirect rule.

    `send` returns the final response (any status; the caller turns errors into sentences) or raises HttpError
    / WriteOutcomeUnknown. `name` says what the server is in messages ("authentik", "Salesforce"), `url_option`
    which option holds its URL.
    """

    def __init__(self, name, url_option, validate_certs=True, ca_path=None, timeout=30, retries=4,
                 backoff=None, session=None, scrubber=None):
        self.name = name
        self.url_option = url_option
        self.verify = session_verify(validate_certs, ca_path)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff or Backoff(0.5, 8.0)
        self.session = session if session is not None else requests.Session()
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.sent = 0  # requests sent, retries and redirects included
        self.retried = 0

    def send(self, method, url, what, idempotent=None, policy=default_policy, follow_redirects=None, **kwargs):
        """Send one request with retries; `idempotent` (default: GET/HEAD/OPTIONS) allows repeating it after an
        error where it may have been applied. Redirects are followed for reads only (`follow_redirects`)."""
        method = method.upper()
        safe = method in ("GET", "HEAD", "OPTIONS")
        idempotent = safe if idempotent is None else idempotent
        follow_redirects = safe if follow_redirects is None else follow_redirects
        attempt = hops = 0
        start = url
        while True:
            self.sent += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, verify=self.verify,
                                                allow_redirects=False, **kwargs)
            except requests.exceptions.RequestException as exc:
                reached = reached_server(exc)
                reason = describe_exception(exc, self.timeout)
                if isinstance(exc, requests.exceptions.SSLError):
                    raise HttpError("%s: %s of %s; give the CA bundle with ca_path, or set validate_certs to false "
                                    "for a test server." % (what, reason, _origin_text(url)))
                if reached and not idempotent:
                    raise WriteOutcomeUnknown(
                        "%s: %s from %s; the change may or may not have been applied (run the task again: it "
                        "reads the state first)." % (what, reason, _origin_text(url)))
                if attempt < self.retries and isinstance(exc, (requests.exceptions.ConnectionError,
                                                               requests.exceptions.Timeout)):
                    attempt += 1
                    self.retried += 1
                    self.backoff.wait(attempt)
                    continue
                raise HttpError("%s: cannot reach %s at %s after %d attempt(s): %s."
                                % (what, self.name, _origin_text(url), attempt + 1, reason))
            except (ValueError, UnicodeError, LookupError) as exc:
                # requests reads a redirect's Location even when it does not follow it: a malformed one lands here.
                raise HttpError("%s: %s answered with a malformed redirect or header (%s); not followed."
                                % (what, _origin_text(url), type(exc).__name__))

            if response.status_code in (301, 302, 303, 307, 308):  # is_redirect needs a Location
                url, kwargs = self._redirect(url, start, response, what, follow_redirects, kwargs)
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise HttpError("%s: more than %d redirects from %s." % (what, MAX_REDIRECTS, _origin_text(start)))
                continue

            verdict = policy(response, idempotent)
            if verdict == MAYBE_APPLIED and not idempotent:
                raise WriteOutcomeUnknown(
                    "%s: HTTP %d from %s; the change may or may not have been applied (run the task again: it "
                    "reads the state first)." % (what, response.status_code, _origin_text(url)),
                    status=response.status_code)
            if verdict in (RETRY, MAYBE_APPLIED) and attempt < self.retries:
                attempt += 1
                self.retried += 1
                self.backoff.wait(attempt, response.headers.get("Retry-After"))
                continue
            response.attempts = attempt + 1
            return response

    def _redirect(self, url, start, response, what, follow, kwargs):
        location = response.headers.get("Location") or ""
        try:
            target = urljoin(url, location.strip())
            here, there = _origin(url), _origin(target)
        except ValueError:
            raise HttpError("%s: %s answered HTTP %d with a malformed redirect; not followed."
                            % (what, _origin_text(url), response.status_code), status=response.status_code)
        shown = self.scrubber.text(target)
        if here[0] == "http" and there[0] == "https" and here[1] == there[1]:
            raise HttpError("%s: %s redirects plain http to %s; use https://%s as %s."
                            % (what, _origin_text(url), shown, urlsplit(target).netloc.rsplit("@", 1)[-1],
                               self.url_option), status=response.status_code)
        if not follow or there[0] not in ("http", "https"):
            raise HttpError(
                "%s: %s answered HTTP %d, a redirect to %s. Not followed: a write, a login or a SOAP call goes to "
                "%s only, so that its body and credentials reach no other address. If that is the right address, "
                "set %s to it." % (what, _origin_text(url), response.status_code, shown, _origin_text(start),
                                   self.url_option), status=response.status_code)
        if there != _origin(start):
            # A read may follow to another host, but never with our credentials.
            headers = dict(kwargs.get("headers") or {})
            headers["Authorization"] = None  # None removes the session's header for this request
            headers["Cookie"] = None
            kwargs = dict(kwargs, headers=headers)
        kwargs = dict(kwargs, params=None)  # the Location carries its own query
        return target, kwargs


def _origin_text(url):
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc.rsplit("@", 1)[-1])
