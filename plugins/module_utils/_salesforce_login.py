# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a Salesforce module logs in: the connection options every Salesforce module takes, and the login
strategies they select.

- ``salesforce_argument_spec()`` / ``salesforce_module_kwargs()``: the shared options (documented in
  doc_fragments/salesforce.py); ``check_dependencies(module)`` fails with ``missing_required_lib``.
- ``select_login(params)`` picks one strategy: ``AccessTokenLogin`` (a token given), ``JwtBearerLogin`` (an RS256
  JWT signed with the app's key, through ``_crypto``) or ``ClientCredentialsLogin``. Each one validates its input
  before any request (``validate()``), registers its secrets with the scrubber (``register()``) and returns the
  token endpoint's answer (``login(session)``).
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError
from ansible_collections.sso.authentik.plugins.module_utils._http import REQUESTS_IMPORT_ERROR, clean_token
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import (
    SalesforceError, page_words, response_json)

TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 180  # Salesforce accepts an exp at most about 3 minutes ahead
# Hosts that serve logins for many orgs: they are a JWT audience, never the org's own URL.
SHARED_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


# -- options ------------------------------------------------------------------------------------------------------

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
    if REQUESTS_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    signs_a_jwt = module.params.get("private_key") or module.params.get("private_key_file")
    if signs_a_jwt and crypto.CRYPTOGRAPHY_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=crypto.CRYPTOGRAPHY_IMPORT_ERROR)


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


# -- login strategies ---------------------------------------------------------------------------------------------

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
        message += f", {code}): {description or code}" if code else f"): {page_words(response)}"
        hint = self.hint(code)
        raise SalesforceError(message + (f". Hint: {hint}." if hint else ""), status=response.status_code, code=code)


def _register_tokens(body, scrubber, depth=0):
    if scrubber is None or depth > 5:
        return
    items = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(body, list) else ()
    for key, value in items:
        if key in ("access_token", "refresh_token", "id_token", "signature") and isinstance(value, str):
            scrubber.add(value)
        elif isinstance(value, (dict, list)):
            _register_tokens(value, scrubber, depth + 1)


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
        if crypto.CRYPTOGRAPHY_IMPORT_ERROR is not None:
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
        try:
            return crypto.load_rsa_signing_key(pem, option)
        except EngineError as exc:
            raise SalesforceError(exc.msg) from None

    def claims(self):
        return {"iss": self.client_id, "sub": self.username, "aud": self.audience,
                "exp": int(self._clock()) + JWT_LIFETIME}

    def assertion(self):
        if self._key is None:
            self.validate()
        signing_input = _b64url_json({"alg": "RS256"}) + "." + _b64url_json(self.claims())
        signature = crypto.sign_rs256(self._key, signing_input.encode("ascii"))
        assertion = signing_input + "." + _b64url(signature)
        if self.scrubber is not None:
            self.scrubber.add(assertion)
        return assertion

    def form(self):
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value):
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


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
