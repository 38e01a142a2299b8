# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Salesforce clients of the collection.

- ``salesforce_argument_spec()`` / ``salesforce_module_kwargs()``: the shared connection options.
- Login strategies, one class each: ``AccessTokenLogin``, ``JwtBearerLogin``, ``ClientCredentialsLogin``
  (``select_login()`` picks one from the options).
- ``SalesforceSession``: HTTP with retries, lazy login, re-login on an expired session, API usage tracking.
- ``RestClient``: API version discovery and SOQL.
- ``MetadataClient``: Metadata API CRUD over SOAP (read / create / update / upsert / delete).
- ``SalesforceClient``: the three above for one module run, plus cached name-to-id lookups (``SoqlRef``) and the
  org id; ``SalesforceMetadataResource``: the engine's transport for modules that manage one Metadata component.

Runtime dependencies: ``requests`` (always) and ``cryptography`` (JWT bearer login only). Both imports are
guarded: a module calls ``check_dependencies(module)`` (or lists ``REQUESTS_IMPORT_ERROR`` /
``CRYPTOGRAPHY_IMPORT_ERROR`` in the engine's ``import_errors``) to fail with ``missing_required_lib``.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import traceback
import xml.etree.ElementTree as ET
import xml.parsers.expat
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Ref, Resource
from ansible_collections.sso.authentik.plugins.module_utils._http import (
    MAYBE_APPLIED, REQUESTS_IMPORT_ERROR, RETRY, Backoff, Http, HttpError, Scrubber, WriteOutcomeUnknown, clean_token,
    cleartext_warning, connection_problem, error_page_words)

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:
    hashes = serialization = padding = rsa = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

HAS_REQUESTS = REQUESTS_IMPORT_ERROR is None
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

MIN_API_VERSION = "60.0"
TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 180  # Salesforce accepts an exp at most about 3 minutes ahead
# Hosts that serve logins for many orgs: they are a JWT audience, never the org's own URL.
SHARED_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")

SOAPENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
METADATA_MAX_ITEMS = 10  # per create/read/update/upsert/delete call

BACKOFF_BASE = 1.0  # seconds; doubled per attempt, with jitter
BACKOFF_MAX = 30.0


class SalesforceError(HttpError):
    """An error with a message a person can act on (no secrets), and the HTTP status / error code if any.

    An EngineError, so the engine fails the module with ``msg`` (+ ``status``, ``error_code``), no traceback. A
    write whose answer was lost raises ``_http.WriteOutcomeUnknown`` instead (an HttpError, not a SalesforceError).
    """

    def __init__(self, message, status=None, code=None, body=None):
        super().__init__(message, status=status, code=code, body=body)
        self.message = message

    def fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``."""
        return dict(self.details, msg=self.message)


class _InvalidSession(SalesforceError):
    """INVALID_SESSION_ID: the token expired or was revoked (internal: triggers one re-login)."""


# ---------------------------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------------------------

def salesforce_argument_spec():
    """The connection options every Salesforce module accepts (documented in doc_fragments/salesforce.py)."""
    def env(name):
        return (env_fallback, [name])

    return {
        "instance_url": {"type": "str", "required": True, "fallback": env("SALESFORCE_INSTANCE_URL")},
        "access_token": {"type": "str", "no_log": True, "fallback": env("SALESFORCE_ACCESS_TOKEN")},
        "client_id": {"type": "str", "fallback": env("SALESFORCE_CLIENT_ID")},
        "client_secret": {"type": "str", "no_log": True, "fallback": env("SALESFORCE_CLIENT_SECRET")},
        "username": {"type": "str", "fallback": env("SALESFORCE_USERNAME")},
        "private_key": {"type": "str", "no_log": True, "fallback": env("SALESFORCE_PRIVATE_KEY")},
        "private_key_file": {"type": "path", "no_log": False, "fallback": env("SALESFORCE_PRIVATE_KEY_FILE")},
        "jwt_audience": {"type": "str"},
        "api_version": {"type": "str", "fallback": env("SALESFORCE_API_VERSION")},
        "validate_certs": {"type": "bool", "default": True, "fallback": env("SALESFORCE_VALIDATE_CERTS")},
        "ca_path": {"type": "path", "fallback": env("SALESFORCE_CA_PATH")},
        "timeout": {"type": "int", "default": 30, "fallback": env("SALESFORCE_TIMEOUT")},
        "retries": {"type": "int", "default": 4, "fallback": env("SALESFORCE_RETRIES")},
    }


def salesforce_module_kwargs():
    """AnsibleModule keyword arguments that go with ``salesforce_argument_spec()`` (merge with the module's own)."""
    return {"mutually_exclusive": [["private_key", "private_key_file"]]}


def check_dependencies(module):
    """Fail the module when a library that the chosen options need is missing."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_CRYPTOGRAPHY and (module.params.get("private_key") or module.params.get("private_key_file")):
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)


def salesforce_session(module):
    """Build a ``SalesforceSession`` from ``module.params``; fails the module (no request sent) on bad input."""
    check_dependencies(module)
    try:
        return SalesforceSession.from_params(module.params, scrubber=getattr(module, "scrubber", None))
    except EngineError as exc:
        module.fail_json(msg=exc.msg, **exc.details)


def normalize_instance_url(url, option="instance_url"):
    """Return ``scheme://host[:port]`` without a trailing slash; refuse what cannot be an org's My Domain URL."""
    url = (url or "").strip().rstrip("/")
    if not url:
        raise SalesforceError(f"{option} is required: the org's My Domain URL, for example https://acme.my.salesforce.com")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
            or any(char.isspace() or not char.isprintable() for char in url):
        raise SalesforceError(f"{option} must be a URL such as https://acme.my.salesforce.com, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise SalesforceError(f"{option} must not carry a user name or password (https://user:password@...): "
                              "Salesforce logins use the login options")
    return url


def _refuse_shared_login_host(url, option="instance_url"):
    if urlsplit(url).hostname in SHARED_LOGIN_HOSTS:
        raise SalesforceError(
            f"{option} must be the org's My Domain URL (https://<name>.my.salesforce.com), not {url}: "
            "Salesforce serves the org's API and its token endpoint there. To sign a JWT for "
            "login.salesforce.com or test.salesforce.com, set jwt_audience instead."
        )


def normalize_api_version(value):
    """'63', 63.0, 'v63.0' -> '63.0'; refuse versions older than MIN_API_VERSION."""
    match = re.match(r"^v?(\d+)(?:\.(\d+))?$", str(value).strip())
    if not match:
        raise SalesforceError(f"api_version must look like 63.0, got {value!r}")
    version = f"{int(match.group(1))}.{int(match.group(2) or 0)}"
    if _version_key(version) < _version_key(MIN_API_VERSION):
        raise SalesforceError(f"api_version {version} is older than {MIN_API_VERSION}, the oldest supported version")
    return version


_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}$")


def _version_key(version):
    return tuple(int(part) for part in version.split("."))


# ---------------------------------------------------------------------------------------------------------------
# Login strategies
# ---------------------------------------------------------------------------------------------------------------

def select_login(params):
    """Pick the login strategy from the options.

    Precedence: ``access_token`` (used as given) > JWT bearer (``private_key``/``private_key_file`` with
    ``client_id`` and ``username``) > client credentials (``client_id`` with ``client_secret``).
    """
    def opt(name):
        value = params.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else (value or None)

    instance_url = normalize_instance_url(params.get("instance_url"))
    if opt("access_token"):
        # With a way to log in as well, a token that expires in the middle of a run is replaced by a new login.
        fallback = None
        if opt("private_key") or opt("private_key_file") or opt("client_secret"):
            fallback = select_login(dict(params, access_token=None))
        return AccessTokenLogin(instance_url, opt("access_token"), fallback=fallback)
    if opt("private_key") or opt("private_key_file"):
        return JwtBearerLogin(instance_url, opt("client_id"), opt("username"), private_key=opt("private_key"),
                              private_key_file=opt("private_key_file"), audience=opt("jwt_audience"))
    if opt("client_secret"):
        return ClientCredentialsLogin(instance_url, opt("client_id"), opt("client_secret"))
    if opt("client_id") or opt("username"):
        raise SalesforceError(
            "client_id needs either private_key or private_key_file together with username (JWT bearer flow), "
            "or client_secret (client credentials flow)"
        )
    raise SalesforceError(
        "No Salesforce credentials were given: set access_token (SALESFORCE_ACCESS_TOKEN), or client_id, username "
        "and private_key / private_key_file (JWT bearer), or client_id and client_secret (client credentials)"
    )


class AccessTokenLogin:
    """A token obtained elsewhere (for example by the salesforce_login module). Logs in again only with a
    ``fallback`` login (JWT bearer or client credentials options given as well), once the token is rejected."""

    name = "access token"

    def __init__(self, instance_url, access_token, fallback=None):
        self.instance_url = normalize_instance_url(instance_url)
        self.access_token = access_token
        self.fallback = fallback
        self.can_relogin = fallback is not None
        self.secret_names = ["access token"] + (fallback.secret_names[:-1] if fallback else [])
        self._used = False

    def register(self, scrubber):
        scrubber.add(self.access_token)
        if self.fallback is not None:
            self.fallback.register(scrubber)

    def validate(self):
        _refuse_shared_login_host(self.instance_url)
        self.access_token = clean_token(self.access_token or "", "access_token")
        if self.fallback is not None:
            self.fallback.validate()

    def login(self, session):
        if self._used and self.fallback is not None:
            self.name = self.fallback.name  # messages name the login that was made
            return self.fallback.login(session)
        self._used = True
        return {"access_token": self.access_token.strip(), "instance_url": self.instance_url}


_OAUTH_HINTS = {
    "invalid_client_id": "client_id is not the consumer key of an app in this org",
    "invalid_client": "client_id or client_secret is wrong",
    "unsupported_grant_type": "the app does not allow this flow; enable it on the External Client App",
    "app_not_found": "the app is not installed in this org; use the org's My Domain URL",
}
_JWT_HINTS = {
    "invalid_grant": "check that username exists and is active, that the app pre-authorizes the user (admin-approved "
                     "profile or permission set), that the app's certificate matches the private key, and that "
                     "Salesforce accepts the audience (jwt_audience)",
    "app_not_found": "the app is not installed in this org; leave jwt_audience unset so the JWT is signed for the "
                     "org's My Domain URL",
}


class _TokenEndpointLogin:
    """Shared by the OAuth flows: POST a form to ``<instance_url>/services/oauth2/token``."""

    name = ""
    can_relogin = True
    secret_names = ["access token"]
    scrubber = None

    def register(self, scrubber):
        self.scrubber = scrubber

    def hint(self, code):
        """Advice per OAuth ``error`` code (the descriptions vary, so only the code is matched)."""
        return _OAUTH_HINTS.get(code)

    def token_url(self):
        return self.instance_url + TOKEN_PATH

    def form(self):
        raise NotImplementedError

    def login(self, session):
        response = session.send_unauthenticated("POST", self.token_url(), data=self.form(),
                                                operation=f"{self.name} login (POST {TOKEN_PATH})")
        try:
            body = response_json(response)
        except ValueError:
            body = None
        _register_tokens(body, self.scrubber)  # whatever shape it came in, a token in it is never shown
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str) \
                and body["access_token"]:
            return body
        if response.status_code == 200:
            raise SalesforceError(f"The {self.name} login at {self.token_url()} answered HTTP 200 without an access "
                                  "token it could read (expected a JSON object with access_token); is instance_url "
                                  "the org's My Domain URL?", status=200)
        code = description = None
        if isinstance(body, dict):
            code, description = body.get("error"), body.get("error_description")
            code = code if isinstance(code, str) else None
            description = description if isinstance(description, str) else None
        message = f"Salesforce refused the {self.name} login at {self.token_url()} (HTTP {response.status_code}"
        message += f", {code}): {description or code}" if code else f"): {_page_words(response)}"
        hint = self.hint(code)
        raise SalesforceError(message + (f". Hint: {hint}." if hint else ""), status=response.status_code, code=code)


class JwtBearerLogin(_TokenEndpointLogin):
    """OAuth 2.0 JWT bearer flow: an RS256 JWT signed with the app's private key, no secret involved."""

    name = "JWT bearer"
    secret_names = ["signed JWT assertion", "access token"]

    def register(self, scrubber):
        super().register(scrubber)
        scrubber.add(self.private_key)

    def hint(self, code):
        return _JWT_HINTS.get(code) or _OAUTH_HINTS.get(code)

    def __init__(self, instance_url, client_id, username, private_key=None, private_key_file=None, audience=None,
                 clock=time.time):
        self.instance_url = normalize_instance_url(instance_url)
        self.client_id = client_id
        self.username = username
        self.private_key = private_key
        self.private_key_file = private_key_file
        self.audience = audience
        self._clock = clock
        self._key = None

    def validate(self):
        _refuse_shared_login_host(self.instance_url)
        if not HAS_CRYPTOGRAPHY:
            raise SalesforceError(missing_required_lib("cryptography"))
        for option in ("client_id", "username"):
            if not getattr(self, option):
                raise SalesforceError(f"{option} is required for the JWT bearer login (private key given)")
        if self.private_key and self.private_key_file:
            raise SalesforceError("private_key and private_key_file are mutually exclusive")
        self.audience = normalize_instance_url(self.audience, "jwt_audience") if self.audience else self.instance_url
        self._key = self._load_key()

    def _load_key(self):
        if self.private_key_file:
            option = "private_key_file"
            try:
                with open(self.private_key_file, "rb") as handle:
                    pem = handle.read()
            except OSError as exc:
                message = f"private_key_file {self.private_key_file} cannot be read: {exc.strerror}"
                raise SalesforceError(message) from None
        else:
            option = "private_key"
            text = self.private_key
            if "\n" not in text and "\\n" in text:
                text = text.replace("\\n", "\n")  # a PEM squeezed into one line of an environment variable
            pem = text.encode("utf-8")
        if self.scrubber is not None:
            self.scrubber.add(pem.decode("utf-8", "replace"))
        if b"-----BEGIN" not in pem:
            raise SalesforceError(f"{option} is not PEM text (no '-----BEGIN ... PRIVATE KEY-----' line)")
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except TypeError:
            raise SalesforceError(f"{option} is encrypted; give an unencrypted PEM private key") from None
        except ValueError:
            raise SalesforceError(f"{option} is not a valid PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SalesforceError(f"{option} must be an RSA private key (Salesforce verifies RS256 signatures)")
        return key

    def claims(self):
        return {"iss": self.client_id, "sub": self.username, "aud": self.audience,
                "exp": int(self._clock()) + JWT_LIFETIME}

    def assertion(self):
        if self._key is None:
            self.validate()
        signing_input = _b64url_json({"alg": "RS256"}) + "." + _b64url_json(self.claims())
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        assertion = signing_input + "." + _b64url(signature)
        if self.scrubber is not None:
            self.scrubber.add(assertion)
        return assertion

    def form(self):
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}


class ClientCredentialsLogin(_TokenEndpointLogin):
    """OAuth 2.0 client credentials flow (External Client App with a run-as user); My Domain only."""

    name = "client credentials"
    secret_names = ["client secret", "access token"]

    def register(self, scrubber):
        super().register(scrubber)
        scrubber.add(self.client_secret)

    def hint(self, code):
        if code == "invalid_grant":
            return ("the client credentials flow needs the org's My Domain URL as instance_url, the flow enabled "
                    "on the app and a run-as user set")
        return _OAUTH_HINTS.get(code)

    def __init__(self, instance_url, client_id, client_secret):
        self.instance_url = normalize_instance_url(instance_url)
        self.client_id = client_id
        self.client_secret = client_secret

    def validate(self):
        _refuse_shared_login_host(self.instance_url)
        for option in ("client_id", "client_secret"):
            if not getattr(self, option):
                raise SalesforceError(f"{option} is required for the client credentials login")
        self.client_secret = clean_token(self.client_secret, "client_secret")

    def form(self):
        return {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value):
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


# ---------------------------------------------------------------------------------------------------------------
# Session: transport, retries, re-login, usage tracking
# ---------------------------------------------------------------------------------------------------------------

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
        if not HAS_REQUESTS:
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
            except _InvalidSession as exc:
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
            raise _InvalidSession(self.scrubber.text(message), status=status, code="INVALID_SESSION_ID")
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


def response_text(response):
    """The body as text; an unknown or wrong charset is read as UTF-8 with replacements, never an exception."""
    try:
        return response.text or ""
    except (LookupError, UnicodeError, TypeError):
        return (response.content or b"").decode("utf-8", "replace")


def response_json(response):
    """The body parsed as JSON; ValueError for anything that is not (a bad charset, a nesting bomb included)."""
    try:
        return json.loads(response_text(response))
    except (ValueError, RecursionError, TypeError):
        raise ValueError("not JSON") from None


def _register_tokens(body, scrubber, depth=0):
    if scrubber is None or depth > 5:
        return
    items = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(body, list) else ()
    for key, value in items:
        if key in ("access_token", "refresh_token", "id_token", "signature") and isinstance(value, str):
            scrubber.add(value)
        elif isinstance(value, (dict, list)):
            _register_tokens(value, scrubber, depth + 1)


def _page_words(response):
    return error_page_words(response_text(response)) or response.reason or "no details"


def describe_error(response):
    """(code, message, fields) from a REST error array, an OAuth error or a SOAP fault; never raises."""
    text = response_text(response)
    if text.lstrip().startswith("<"):
        fault = _parse_soap_fault(response.content)
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
        return first.get("errorCode"), "; ".join(m for m in messages if m) or _page_words(response), fields
    return None, _page_words(response), []


# ---------------------------------------------------------------------------------------------------------------
# REST
# ---------------------------------------------------------------------------------------------------------------

class RestClient:
    """REST data API: version discovery, SOQL queries (data and Tooling) and plain JSON requests."""

    def __init__(self, session):
        self.session = session

    def versions(self):
        """``GET /services/data/``: every version the org supports (cached per session)."""
        if self.session.versions_cache is None:
            body = self.request("GET", "/services/data/")
            versions = [item for item in body if isinstance(item, dict) and isinstance(item.get("version"), str)
                        and _VERSION.match(item["version"])] if isinstance(body, list) else []
            if not versions:
                raise SalesforceError("GET /services/data/ returned no API versions (expected a list of "
                                      "{\"version\": \"63.0\", ...}); is instance_url a Salesforce org?")
            self.session.versions_cache = versions
        return self.session.versions_cache

    @property
    def api_version(self):
        """The pinned ``api_version`` or else the newest the org supports (discovered once per session)."""
        if self.session.api_version is None:
            newest = max((v["version"] for v in self.versions()), key=_version_key)
            if _version_key(newest) < _version_key(MIN_API_VERSION):
                raise SalesforceError(
                    f"The org's newest API version is {newest}; this collection needs {MIN_API_VERSION} or newer")
            self.session.api_version = newest
        return self.session.api_version

    def data_path(self, path=""):
        return f"/services/data/v{_checked_version(self.api_version)}/{path.lstrip('/')}"

    def request(self, method, path, params=None, json=None, idempotent=None):
        """JSON request; ``path`` is absolute (``/services/...``) or relative to ``/services/data/vXX.X/``."""
        if not path.startswith("/services/"):
            path = self.data_path(path)
        response = self.session.request(method, path, params=params, json=json, idempotent=idempotent,
                                        headers={"Accept": "application/json"})
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response_json(response)
        except ValueError:
            raise SalesforceError(f"{method} {path} returned a body that is not JSON") from None

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def query(self, soql, tooling=False):
        """All records of a SOQL query, following ``nextRecordsUrl`` pages."""
        body = self.request("GET", "tooling/query" if tooling else "query", params={"q": soql})
        records = _records(body, soql)
        while body.get("done") is False and body.get("nextRecordsUrl"):
            next_url = body["nextRecordsUrl"]
            if not isinstance(next_url, str) or not next_url.startswith("/services/data/") or ".." in next_url:
                raise SalesforceError(f"The query {soql!r} answered a nextRecordsUrl that is not a query page of "
                                      f"this org: {next_url!r}")
            body = self.request("GET", next_url)
            records.extend(_records(body, soql))
        return records


def _records(body, soql):
    """The records of one query page: a list of objects, or a sentence saying what came instead."""
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise SalesforceError(f"The query {soql!r} returned something that is not a query result "
                              f"(expected {{\"records\": [...]}}, got {type(body).__name__})")
    return records


def _checked_version(version):
    """An API version as it goes into a URL path: digits and one dot, nothing that could change the target."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise SalesforceError(f"Refusing to use {version!r} as the API version in a URL path")
    return version


_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def soql_quote(value):
    """A SOQL string literal: ``O'Brien`` -> ``'O\\'Brien'``."""
    if not isinstance(value, str):
        raise TypeError("soql_quote takes a string")
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


# -- record ids ---------------------------------------------------------------------------------------------------

_ID_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def _id_checksum(id15):
    # Per chunk of 5 characters: bit i is set when character i is an upper-case letter.
    return "".join(
        _ID_CHECKSUM_ALPHABET[sum(1 << i for i, char in enumerate(id15[start:start + 5]) if "A" <= char <= "Z")]
        for start in (0, 5, 10)
    )


def is_salesforce_id(value):
    """True for a 15-character id, or an 18-character id whose checksum matches."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:] == _id_checksum(value[:15])


def to_18(sf_id):
    """15- (or 18-) character id -> 18-character id."""
    if not is_salesforce_id(sf_id):
        raise SalesforceError(f"{sf_id!r} is not a Salesforce id (15 letters/digits, or 18 with a valid checksum)")
    return sf_id[:15] + _id_checksum(sf_id[:15])


def to_15(sf_id):
    """18- (or 15-) character id -> the case-sensitive 15-character id."""
    if not is_salesforce_id(sf_id):
        raise SalesforceError(f"{sf_id!r} is not a Salesforce id (15 letters/digits, or 18 with a valid checksum)")
    return sf_id[:15]


def same_id(first, second):
    """Whether two ids (15 or 18 characters) name the same record."""
    return to_15(first) == to_15(second)


# ---------------------------------------------------------------------------------------------------------------
# Metadata API (SOAP)
# ---------------------------------------------------------------------------------------------------------------

# Element order of the types we use, written by hand from the Metadata API WSDL (v63, the one bundled in
# simple-salesforce). Salesforce parses document/literal against these xsd:sequences, so order matters.
# Notation: ``name`` string, ``name:bool``, ``name:int``, ``name:Type`` nested complex type, ``[]`` repeated.
# Types that extend Metadata start with fullName. A nested type missing from the table keeps the caller's order.
_METADATA_FIELDS = {
    "SamlSsoConfig": """fullName attributeName attributeNameIdFormat decryptionCertificate errorUrl executionUserId
        identityLocation identityMapping issuer loginUrl logoutUrl name oauthTokenEndpoint redirectBinding:bool
        requestSignatureMethod requestSigningCertId salesforceLoginUrl samlEntityId samlJitHandlerId samlVersion
        singleLogoutBinding singleLogoutUrl useConfigRequestMethod:bool useSameDigestAlgoForSigning:bool
        userProvisioning:bool validationCert""",
    "SecuritySettings": """fullName canUsersGrantLoginAccess:bool enableAdminLoginAsAnyUser:bool
        enableAuditFieldsInactiveOwner:bool enableAuraSecureEvalPref:bool enableCoepHeader:bool enableCoopHeader:bool
        enableCrossOrgRedirects:bool enablePermissionsPolicy:bool enableRequireHttpsConnection:bool
        networkAccess:NetworkAccess passwordPolicies:PasswordPolicies redirectBlockModeEnabled:bool
        sendCspForUncommonClients:bool sessionSettings:SessionSettings singleSignOnSettings:SingleSignOnSettings""",
    "SingleSignOnSettings": """enableCaseInsensitiveFederationID:bool enableForceDelegatedCallout:bool
        enableMultipleSamlConfigs:bool enableSamlJitProvisioning:bool enableSamlLogin:bool
        isLoginWithSalesforceCredentialsDisabled:bool""",
    "ExternalClientAppSettings": """fullName enableClientSecretInRestApiAccess:bool enableConsumerSecretApiAccess:bool
        enablePackageEcaOauthFromDevOrg:bool""",
    "ExternalClientApplication": """fullName contactEmail contactPhone description distributionState iconUrl infoUrl
        isProtected:bool label logoUrl managedType orgScopedExternalApp""",
    "ExtlClntAppConfigurablePolicies": """fullName externalClientApplication isEnabled:bool isMobilePluginEnabled:bool
        isNotificationPluginEnabled:bool isOauthPluginEnabled:bool isPushPluginEnabled:bool isSamlPluginEnabled:bool
        label startPage startUrl""",
    "ExtlClntAppOauthSettings": """fullName areAttributesIncludedInAssetToken:bool
        areCustomPermsIncludedInAssetToken:bool assetTokenAudiences assetTokenSigningCertificate assetTokenValidity:int
        clientAssertionCertificate commaSeparatedCustomScopes commaSeparatedOauthScopes
        customAttributes:ExtlClntAppOauthSettingsAttribute[] externalClientApplication isFirstPartyAppEnabled:bool
        label oauthLink singleLogoutUrl trustedIpRanges:ExtlClntAppOauthIpRange[]""",
    "ExtlClntAppOauthSettingsAttribute": "formula key",
    "ExtlClntAppOauthIpRange": "description endIpAddress startIpAddress",
    "ExtlClntAppGlobalOauthSettings": """fullName callbackUrl certificate consumerKey consumerSecret
        externalClientApplication idTokenConfig:ExternalAppIdTokenConfig isClientCredentialsFlowEnabled:bool
        isCodeCredFlowEnabled:bool isCodeCredPostOnly:bool isConsumerSecretOptional:bool isDeviceFlowEnabled:bool
        isIntrospectAllTokens:bool isNamedUserJwtEnabled:bool isPkceRequired:bool isRefreshTokenRotationEnabled:bool
        isSecretRequiredForRefreshToken:bool isSecretRequiredForTokenExchange:bool isTokenExchangeEnabled:bool label
        shouldRotateConsumerKey:bool shouldRotateConsumerSecret:bool""",
    "ExternalAppIdTokenConfig": """idTokenAudience idTokenIncludeAttributes:bool idTokenIncludeCustomPermissions:bool
        idTokenIncludeStandardClaims:bool idTokenValidityInMinutes:int""",
    "ExtlClntAppOauthConfigurablePolicies": """fullName apexHandler clientCredentialsFlowUser commaSeparatedCustomScopes
        commaSeparatedPermissionSet commaSeparatedProfile customAttributes:ExtlClntAppOauthPoliciesAttribute[]
        executeHandlerAs externalClientApplication guestJwtTimeout:int ipRelaxationPolicyType
        isClientCredentialsFlowEnabled:bool isGuestCodeCredFlowEnabled:bool isNamedUserJwtEnabled:bool
        isTokenExchangeFlowEnabled:bool label namedUserJwtTimeout:int permittedUsersPolicyType policyAction
        refreshTokenPolicyType refreshTokenValidityPeriod:int refreshTokenValidityUnit requiredSessionLevel
        sessionTimeoutInMinutes:int singleLogoutUrl startUrl""",
    "ExtlClntAppOauthPoliciesAttribute": "formula key",
    "ExtlClntAppSamlConfigurablePolicies": """fullName acsUrl certificate commaSeparatedPermissionSet
        commaSeparatedProfile customAttributes:ExtlClntAppSamlConfigurablePoliciesAttribute[] encryptionCertificate
        encryptionType entityUrl externalClientApplication issuer label nameIdFormat signingAlgorithmType
        singleLogoutBindingType singleLogoutUrl startUrl subjectCustomAttribute subjectType""",
    "ExtlClntAppSamlConfigurablePoliciesAttribute": "formula key",
}


def _parse_field_table(table):
    """-> {type: {field: (kind, repeated)}} in sequence order; kind is 'str', 'bool', 'int' or a type name."""
    parsed = {}
    for type_name, spec in table.items():
        fields = {}
        for entry in spec.split():
            repeated = entry.endswith("[]")
            name, _sep, kind = entry.rstrip("[]").partition(":")
            fields[name] = (kind or "str", repeated)
        parsed[type_name] = fields
    return parsed


METADATA_FIELDS = _parse_field_table(_METADATA_FIELDS)


def metadata_field_order(type_name, keys):
    """Order ``keys`` as the type's xsd:sequence wants them.

    Fields the table does not know (added in newer API versions) are placed where the alphabet puts them,
    since Salesforce's sequences are alphabetical after fullName. Unknown types keep the given order.
    """
    fields = METADATA_FIELDS.get(type_name)
    if fields is None:
        return list(keys)
    position = {name: index for index, name in enumerate(fields)}
    ordered = sorted((key for key in keys if key in position), key=position.get)
    for extra in sorted(key for key in keys if key not in position):
        index = next((i for i, key in enumerate(ordered) if key != "fullName" and key > extra), len(ordered))
        ordered.insert(index, extra)
    return ordered


def _xml_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return escape(value)
    raise SalesforceError(f"Cannot send a {type(value).__name__} value in a Metadata API call")


def metadata_to_xml(type_name, data, tag="metadata", type_attribute=True):
    """One ``<met:metadata xsi:type="met:Type">`` element (or a nested element) with children in sequence order.

    None values are left out; lists repeat the element; dicts become nested elements.
    """
    attribute = f' xsi:type="met:{type_name}"' if type_attribute else ""
    parts = [f"<met:{tag}{attribute}>"]
    fields = METADATA_FIELDS.get(type_name, {})
    for name in metadata_field_order(type_name, list(data)):
        _check_name(name, "field name")
        kind = fields.get(name, ("str", False))[0]
        values = data[name] if isinstance(data[name], (list, tuple)) else [data[name]]
        for value in values:
            if value is None:
                continue
            if isinstance(value, dict):
                parts.append(metadata_to_xml(kind, value, tag=name, type_attribute=False))
            else:
                parts.append(f"<met:{name}>{_xml_text(value)}</met:{name}>")
    parts.append(f"</met:{tag}>")
    return "".join(parts)


def soap_envelope(session_id, body):
    """The SOAP 1.1 envelope with the SessionHeader (the access token serves as the session id)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV_NS}" xmlns:xsi="{XSI_NS}" xmlns:met="{METADATA_NS}">'
        "<soapenv:Header>"
        f"<met:SessionHeader><met:sessionId>{escape(session_id)}</met:sessionId></met:SessionHeader>"
        "</soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body>"
        "</soapenv:Envelope>"
    )


def _check_name(value, what):
    if not isinstance(value, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", value):
        raise SalesforceError(f"Invalid Metadata API {what}: {value!r}")


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _child_text(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return None


class _Doctype(Exception):
    pass


def _refuse_doctype(*_args):
    raise _Doctype()


def safe_xml(content):
    """An Element from a SOAP answer. A document type declaration is refused before ElementTree sees it: SOAP
    forbids one, and its entities are the way to an entity expansion bomb (expat only caps their amplification).
    Raises ValueError with the reason."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    checker = xml.parsers.expat.ParserCreate()
    checker.StartDoctypeDeclHandler = checker.EntityDeclHandler = _refuse_doctype
    try:
        checker.Parse(content, True)
    except _Doctype:
        raise ValueError("it declares a document type (<!DOCTYPE>), which SOAP answers never have") from None
    except (xml.parsers.expat.ExpatError, ValueError, TypeError, LookupError):  # LookupError: unknown encoding
        raise ValueError("it is not valid XML") from None
    try:
        return ET.fromstring(content)
    except (ET.ParseError, ValueError, TypeError, LookupError):
        raise ValueError("it is not valid XML") from None


def _parse_xml(content, what):
    try:
        return safe_xml(content)
    except ValueError as exc:
        raise SalesforceError(f"{what}: the response cannot be read: {exc}") from None


def _parse_soap_fault(content):
    """(code, message, []) of a SOAP fault, matched by local names (the ``sf:`` namespace differs per API)."""
    try:
        root = safe_xml(content)
    except ValueError:
        return None
    return _soap_fault_of(root)


def _soap_fault_of(root):
    fault = next((el for el in root.iter() if _local(el.tag) == "Fault"), None)
    if fault is None:
        return None
    faultcode = (_child_text(fault, "faultcode") or "").strip()
    faultstring = (_child_text(fault, "faultstring") or "").strip()
    exception_code = next((el.text for el in fault.iter() if _local(el.tag) == "exceptionCode" and el.text), None)
    exception_message = next((el.text for el in fault.iter() if _local(el.tag) == "exceptionMessage" and el.text),
                             None)
    code = (exception_code or faultcode.rsplit(":", 1)[-1] or None)
    return code, (exception_message or faultstring or faultcode or "SOAP fault").strip(), []


def _xml_to_value(element, kind):
    """Parse one element, using the field table where it knows the type, the element's shape otherwise."""
    if element.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    if kind == "bool":
        return (element.text or "").strip() == "true"
    if kind == "int":
        text = (element.text or "").strip()
        return int(text) if re.match(r"^-?\d+$", text) else text
    if len(element) or kind in METADATA_FIELDS:
        return _xml_to_dict(element, kind)
    return element.text or ""


def _xml_to_dict(element, type_name):
    fields = METADATA_FIELDS.get(type_name, {})
    result = {}
    for child in element:
        name = _local(child.tag)
        kind, repeated = fields.get(name, ("str", False))
        value = _xml_to_value(child, kind)
        if name in result:
            if not isinstance(result[name], list):
                result[name] = [result[name]]
            result[name].append(value)
        else:
            result[name] = [value] if repeated else value
    return result


class MetadataClient:
    """Metadata API CRUD over SOAP at ``<instance_url>/services/Soap/m/<version>``.

    Components are dicts of field -> value (bool, int, str, nested dict, list); see ``METADATA_FIELDS``.
    """

    def __init__(self, session):
        self.session = session

    @property
    def path(self):
        return f"/services/Soap/m/{_checked_version(RestClient(self.session).api_version)}"

    def read(self, type_name, names):
        """``readMetadata``. ``names`` is one name (returns a dict or None) or a list (returns a list aligned
        with it). A missing component comes back as an empty record (no fullName): None here."""
        single = isinstance(names, str)
        names = self._names(type_name, [names] if single else names)
        response = self._call("readMetadata", self._type_and_names(type_name, names), idempotent=True)
        records = []
        for result in _children(response, "result"):
            records.extend(_children(result, "records"))
        found = {}
        for record in records:
            # Records carry xsi:type; fall back to the requested type.
            record_type = (record.get(f"{{{XSI_NS}}}type") or type_name).rsplit(":", 1)[-1]
            value = _xml_to_dict(record, record_type)
            if value.get("fullName") and isinstance(value["fullName"], str):
                found[value["fullName"]] = value
        values = [found.get(name) for name in names]
        return values[0] if single else values

    def create(self, type_name, components):
        try:
            return self._save("createMetadata", type_name, components, idempotent=False)
        except WriteOutcomeUnknown:
            # The answer was lost: the components may exist now. Read them, and create only those that do not.
            components = [components] if isinstance(components, dict) else list(components)
            found = self.read(type_name, [component["fullName"] for component in components])
            missing = [component for component, record in zip(components, found, strict=True) if record is None]
            results = [{"fullName": component["fullName"], "success": True, "errors": []}
                       for component, record in zip(components, found, strict=True) if record is not None]
            if missing:
                results += self._save("createMetadata", type_name, missing, idempotent=False)
            return results

    def update(self, type_name, components):
        return self._save("updateMetadata", type_name, components, idempotent=True)

    def upsert(self, type_name, components):
        """``upsertMetadata``: results carry ``created`` (True when the component was new)."""
        return self._save("upsertMetadata", type_name, components, idempotent=True)

    def delete(self, type_name, names):
        names = self._names(type_name, [names] if isinstance(names, str) else names)
        response = self._call("deleteMetadata", self._type_and_names(type_name, names), idempotent=False)
        return self._results("deleteMetadata", type_name, response)

    # -- internals ------------------------------------------------------------------------------------------

    def _names(self, type_name, names):
        _check_name(type_name, "type")
        names = list(names)
        if not names or len(names) > METADATA_MAX_ITEMS:
            raise SalesforceError(f"Give 1 to {METADATA_MAX_ITEMS} {type_name} names per call, not {len(names)}")
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise SalesforceError(f"Invalid {type_name} name: {name!r}")
        return names

    @staticmethod
    def _type_and_names(type_name, names):
        return f"<met:type>{escape(type_name)}</met:type>" + "".join(
            f"<met:fullNames>{escape(name)}</met:fullNames>" for name in names)

    def _save(self, operation, type_name, components, idempotent):
        _check_name(type_name, "type")
        components = [components] if isinstance(components, dict) else list(components)
        if not components or len(components) > METADATA_MAX_ITEMS:
            raise SalesforceError(
                f"Give 1 to {METADATA_MAX_ITEMS} {type_name} components per call, not {len(components)}")
        for component in components:
            if not isinstance(component, dict) or not component.get("fullName"):
                raise SalesforceError(f"Every {type_name} component needs a fullName")
        body = "".join(metadata_to_xml(type_name, component) for component in components)
        return self._results(operation, type_name, self._call(operation, body, idempotent=idempotent))

    def _call(self, operation, inner, idempotent):
        """POST one operation; returns the ``<operationResponse>`` element."""
        body = f"<met:{operation}>{inner}</met:{operation}>"
        what = f"Metadata API {operation} (POST {self.path})"
        response = self.session.request(
            "POST", self.path, data=lambda token: soap_envelope(token, body).encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": operation},
            idempotent=idempotent, bearer=False, operation=what)
        root = _parse_xml(response.content, what)
        self._track_soap_limits(root)
        fault = _soap_fault_of(root)
        if fault:
            raise SalesforceError(f"{what} failed: {fault[0]}: {fault[1]}", status=response.status_code, code=fault[0])
        element = next((el for el in root.iter() if _local(el.tag) == operation + "Response"), None)
        if element is None:
            raise SalesforceError(f"{what}: the response has no {operation}Response element")
        return element

    def _results(self, operation, type_name, response):
        results, failures = [], []
        for element in _children(response, "result"):
            result = {"fullName": _child_text(element, "fullName") or "",
                      "success": (_child_text(element, "success") or "").strip() == "true"}
            if _child_text(element, "created") is not None:
                result["created"] = _child_text(element, "created").strip() == "true"
            result["errors"] = [
                {"statusCode": _child_text(error, "statusCode") or "", "message": _child_text(error, "message") or "",
                 "fields": [field.text or "" for field in _children(error, "fields")]}
                for error in _children(element, "errors")
            ]
            results.append(result)
            if not result["success"]:
                failures.append(result)
        if failures:
            details = []
            for failure in failures:
                errors = "; ".join(
                    f"{error['statusCode']}: {error['message']}"
                    + (f" (fields: {', '.join(error['fields'])})" if error["fields"] else "")
                    for error in failure["errors"]) or "no error details"
                details.append(f"{type_name} {failure['fullName']!r}: {errors}")
            raise SalesforceError(f"Metadata API {operation} failed for " + "; ".join(details),
                                  code=(failures[0]["errors"] or [{}])[0].get("statusCode"))
        return results

    def _track_soap_limits(self, root):
        # A LimitInfoHeader (type "API REQUESTS") may come back in the SOAP header; keep it like Sforce-Limit-Info.
        for info in (el for el in root.iter() if _local(el.tag) == "limitInfo"):
            current, limit = (_child_text(info, "current") or "").strip(), (_child_text(info, "limit") or "").strip()
            if (_child_text(info, "type") or "").strip() == "API REQUESTS" and current.isdigit() and limit.isdigit():
                self.session.api_usage = {"used": int(current), "limit": int(limit)}


# ---------------------------------------------------------------------------------------------------------------
# The engine's transport: one org per module run, Metadata API components as engine Resources
# ---------------------------------------------------------------------------------------------------------------

class SoqlRef(Ref):
    """A record a person names (a profile name, a username, a certificate's API name), found by SOQL."""

    def __init__(self, sobject, what, by, tooling=False):
        super().__init__(sobject, what, by=by, id_field="Id")
        self.tooling = tooling  # Certificate and ApexClass are queried through the Tooling API


PROFILE = SoqlRef("Profile", "profile", "Name")
USER = SoqlRef("User", "user", "Username")
CERTIFICATE = SoqlRef("Certificate", "certificate", "DeveloperName", tooling=True)
APEX_CLASS = SoqlRef("ApexClass", "Apex class", "Name", tooling=True)

_ORG_IN_IDENTITY_URL = re.compile(r"/id/(00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)/")
_ORG_IN_TOKEN = re.compile(r"^(00D[A-Za-z0-9]{12})!")


class SalesforceClient:
    """What a module needs of one org for one run: the session, REST, the Metadata API and cached name lookups."""

    def __init__(self, session):
        self.session = session
        self.rest = RestClient(session)
        self.metadata = MetadataClient(session)
        self._ids = {}  # (sobject, name) -> 18-character id, or None when the org has no such record

    @classmethod
    def from_params(cls, params, scrubber=None):
        return cls(SalesforceSession.from_params(params, scrubber=scrubber))

    @property
    def warnings(self):
        return self.session.warnings

    @property
    def instance_url(self):
        """The URL the token endpoint reported (the org's My Domain), else the one given."""
        return (self.session.login_info.get("instance_url") or self.session.instance_url).rstrip("/")

    def lookup(self, ref, names):
        """{name: 18-character id or None} for every name, with one SOQL query for those not looked up yet.

        SOQL compares text case-insensitively; when several records match a name that way, the one spelled exactly
        like it wins, and two or more exact matches are an error rather than a guess.
        """
        wanted = [name for name in dict.fromkeys(names) if (ref.path, name) not in self._ids]
        if wanted:
            quoted = ", ".join(soql_quote(name) for name in wanted)
            rows = self.rest.query(f"SELECT Id, {ref.by} FROM {ref.path} WHERE {ref.by} IN ({quoted})",
                                   tooling=ref.tooling)
            for name in wanted:
                matches = [row for row in rows if str(row.get(ref.by) or "").lower() == name.lower()]
                if len(matches) > 1:
                    matches = [row for row in matches if row.get(ref.by) == name]
                if len(matches) > 1:
                    raise SalesforceError(f"{len(matches)} {ref.what} records are named {name!r}; use a unique name")
                self._ids[(ref.path, name)] = _record_id(matches[0], ref.what) if matches else None
        return {name: self._ids[(ref.path, name)] for name in names}

    def resolve(self, ref, value):
        return self.lookup(ref, [value])[value]

    def name_of(self, ref, ident):
        """The name a person used for an id looked up in this run (for diffs), else the id itself."""
        for (path, name), known in self._ids.items():
            if path == ref.path and known and is_salesforce_id(str(ident)) and same_id(known, ident):
                return name
        return ident

    def name_by_id(self, ref, ident):
        """The name of the record with this id (one SOQL query), or None."""
        rows = self.rest.query(f"SELECT Id, {ref.by} FROM {ref.path} WHERE Id = {soql_quote(to_18(ident))}",
                               tooling=ref.tooling)
        name = rows[0].get(ref.by) if rows else None
        if not isinstance(name, str):
            return None
        self._ids[(ref.path, name)] = _record_id(rows[0], ref.what)
        return name

    def org_id(self):
        """The org's 18-character id: from the login (identity URL, or the token's prefix) when possible, so that
        no API call is spent on it; else from the Organization object."""
        token = self.session.access_token
        for pattern, text in ((_ORG_IN_IDENTITY_URL, self.session.login_info.get("id") or ""), (_ORG_IN_TOKEN, token)):
            match = pattern.search(text)
            if match and is_salesforce_id(match.group(1)):
                return to_18(match.group(1))
        rows = self.rest.query("SELECT Id FROM Organization")
        if not rows:
            raise SalesforceError("SELECT Id FROM Organization returned no row")
        return _record_id(rows[0], "Organization")


def _record_id(row, what):
    ident = row.get("Id")
    if not is_salesforce_id(ident if isinstance(ident, str) else None):
        raise SalesforceError(f"Salesforce returned a {what} record without a valid Id: {ident!r}")
    return to_18(ident)


def same_record(current, desired):
    """Compare record ids Salesforce may return 15 or 18 characters long (None and '' are equal)."""
    if not current or not desired:
        return not current and not desired
    if is_salesforce_id(str(current)) and is_salesforce_id(str(desired)):
        return same_id(current, desired)
    return current == desired


class SalesforceMetadataResource(Resource):
    """A Resource stored as one Metadata API component (read / create / update / delete by its fullName).

    The engine compares a *view* of the component: ``from_metadata(record)`` turns what readMetadata returns into
    it (values Salesforce spells several ways normalised, derived keys added) and ``to_metadata(values)`` turns
    engine payloads back into component fields. An update sends the whole component (the Metadata API replaces a
    component with what it is sent), minus the fields that Salesforce generates.
    """

    metadata_type = None
    key = "name"
    generated = ()  # component fields Salesforce computes: never sent back
    mutually_exclusive = (("private_key", "private_key_file"),)
    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)
    trims_text = True  # Salesforce strips leading and trailing whitespace of text on save

    def __init__(self):
        super().__init__()
        self.record = None  # the component as last read (None when absent)

    # -- transport --------------------------------------------------------------------------------------------

    def connection_spec(self):
        return salesforce_argument_spec()

    def connect(self):
        return SalesforceClient.from_params(self.params, scrubber=self.module.scrubber)

    def full_name(self):
        return self.params[self.key]

    def find(self):
        self.record = self.client.metadata.read(self.metadata_type, self.full_name())
        return None if self.record is None else self.from_metadata(self.record)

    def create(self, payload):
        component = self.to_metadata(dict(payload))
        component["fullName"] = self.full_name()
        self.client.metadata.create(self.metadata_type, component)
        return component

    def update(self, current, payload):
        component = {key: value for key, value in self.record.items() if key not in self.generated}
        component.update(self.to_metadata(dict(payload)))
        self.client.metadata.update(self.metadata_type, component)

    def delete(self, current):
        self.client.metadata.delete(self.metadata_type, self.full_name())

    def reread(self, obj):
        found = self.find()
        if found is None:
            raise SalesforceError(f"Salesforce accepted the {self.metadata_type} {self.full_name()!r} but "
                                  "readMetadata does not return it")
        return found

    def is_conflict(self, error):
        return getattr(error, "code", None) == "DUPLICATE_VALUE"

    def resolve(self, ref, value):
        return self.client.resolve(ref, value)

    def name_of(self, ref, ident):
        return self.client.name_of(ref, ident)

    # -- hooks ------------------------------------------------------------------------------------------------

    def from_metadata(self, record):
        return dict(record)

    def to_metadata(self, values):
        return values

    def reconcile(self):
        result = super().reconcile()
        result["api_usage"] = self.client.session.usage()  # calls spent, and the org's api-usage when reported
        return result
