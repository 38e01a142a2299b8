# -*- coding: utf-8 -*-
"""Runs a module of the collection in-process as Ansible does, against a fake HTTP server, and judges the run.

- ``FakeServer``: replaces ``requests.adapters.HTTPAdapter.send``, so everything requests does before the wire
  (preparing the URL and headers, merging session settings, following redirects when a caller lets it) is real.
  Every request is recorded; each answer comes from a callback (``answer(request) -> Answer or exception``).
  ``benign_answer`` is a plausible authentik / Salesforce server that the fuzz strategies mutate.
- ``run_module(name, args, check_mode)``: sets ``_ANSIBLE_ARGS``, calls ``main()``, catches ``SystemExit`` and
  returns a ``Run`` (the JSON result, the requests, an uncaught exception if any).
- ``problems(run, ...)``: every broken promise of a run: a traceback or an uncaught exception, the engine's
  "Unexpected error" catch-all, output that is not one JSON result, a secret in any form, a write in check mode,
  a secret sent to a host it does not belong to, an identifier that changed the request's target, a sleep that
  the real ``time.sleep`` would refuse or a Retry-After believed beyond a minute, a request storm (a loop).

Time never passes: ``time.sleep`` (wherever a module holds a reference to it) only records the delay.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import math
import os
import re
import sys
import time
import types
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import requests
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from cryptography.hazmat.primitives import hashes
from requests.structures import CaseInsensitiveDict
from support import certificates

COLLECTION = "ansible_collections.sso.authentik"
AUTHENTIK_URL = "https://authentik.fuzz.test"
SALESFORCE_URL = "https://acme.my.salesforce.com"
OWN_HOSTS = frozenset({"authentik.fuzz.test", "acme.my.salesforce.com"})
ORG_ID = "00DFZ0000000001"
USER_ID = "005FZ0000000001"

# Secrets with characters that change under URL encoding, so that every form of them can be looked for.
TOKEN = "fzTok+en/1234="
CLIENT_SECRET = "fz-Cl!ent+Secret/5678&x=y"
SCIM_TOKEN = "fz-scim-Token-9012"
CONSUMER_SECRET = "fz-consumer+Secret-3456"
SESSION_TOKEN = ORG_ID + "!fz.session.Token.7890"
MARKER = "fzS3cr"  # hostile values given to no_log options carry it, so that they can be looked for too

TRACEBACKS = bool(os.environ.get("FUZZ_TRACEBACKS"))
MAX_REQUESTS = 150  # more in one module run is a loop (endless pagination, retries without end)
MAX_BELIEVED_SLEEP = 61.0  # RETRY_AFTER_MAX is 60 s: a longer wait means a Retry-After was believed blindly
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_ONLY_SOAP = ("readMetadata", "listMetadata", "describeMetadata", "describeValueType", "checkStatus")


def _make_pki():
    key = certificates.new_key()
    cert = certificates.certificate("fuzz", key, days=365)
    return certificates.key_pem(key), certificates.cert_pem(cert), cert.fingerprint(hashes.SHA256()).hex()


PRIVATE_KEY, CERTIFICATE, FINGERPRINT = _make_pki()
SECRETS = (TOKEN, CLIENT_SECRET, SCIM_TOKEN, CONSUMER_SECRET, SESSION_TOKEN, PRIVATE_KEY)


# -- secrets --------------------------------------------------------------------------------------------------------

def secret_forms(secret):
    """Every spelling of a secret worth looking for: raw, stripped, escaped, URL-encoded, base64, PEM lines."""
    forms = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             secret.encode("unicode_escape").decode("ascii"), repr(secret)[1:-1]}
    raw = secret.strip().encode("utf-8", "surrogatepass")
    forms.update({base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    if "-----BEGIN" in secret:  # a PEM: every line of its body
        forms.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16 and "-----" not in line)
    return {form for form in forms if len(form) >= 6}


def leaked(text, secrets):
    """The secrets (by a short label, never the value) found in `text` in any form."""
    found = []
    for secret in secrets:
        if any(form in text for form in secret_forms(secret)):
            found.append(label(secret))
    return found


def label(secret):
    return "%s... (%d chars)" % (ascii(secret[:6]), len(secret))


# -- the fake server ------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, value, status=200, headers=None):
        return cls(status, json.dumps(value).encode(), dict({"Content-Type": "application/json"}, **(headers or {})))

    @classmethod
    def xml(cls, text, status=200, headers=None):
        body = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        return cls(status, body, dict({"Content-Type": "text/xml; charset=utf-8"}, **(headers or {})))


@dataclass
class Request:
    method: str
    url: str
    headers: dict
    body: bytes

    @property
    def parts(self):
        return urlsplit(self.url)

    @property
    def path(self):
        return self.parts.path

    @property
    def query(self):
        return dict(parse_qsl(self.parts.query, keep_blank_values=True))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def soap_action(self):
        action = (self.headers.get("SOAPAction") or "").strip('"')
        if action:
            return action
        match = re.search(r"<(?:\w+:)?Body>\s*<(?:\w+:)?(\w+)", self.text)
        return match.group(1) if match else ""

    def is_write(self):
        """POST/PUT/PATCH/DELETE, except a login at the token endpoint and read-only SOAP calls."""
        if self.method not in WRITE_METHODS:
            return False
        if self.method == "POST" and self.path.rstrip("/").endswith("/services/oauth2/token"):
            return False
        if self.method == "POST" and "/services/Soap/" in self.path and self.soap_action in READ_ONLY_SOAP:
            return False
        return True

    def describe(self):
        return "%s %s" % (self.method, self.url[:200])


class RequestStorm(BaseException):
    """Raised into the module when it sends more than MAX_REQUESTS (a BaseException: no catch-all hides it)."""


class FakeServer:
    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def send(self, adapter, prepared, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        if len(self.requests) >= MAX_REQUESTS:
            raise RequestStorm("more than %d requests in one module run" % MAX_REQUESTS)
        body = prepared.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        request = Request(prepared.method, prepared.url, dict(prepared.headers), body or b"")
        self.requests.append(request)
        if prepared.url.startswith("https:") and isinstance(verify, str) and not os.path.exists(verify):
            raise OSError("Could not find a suitable TLS CA certificate bundle, invalid path: %s" % verify)
        answer = self.answer(request)
        if isinstance(answer, BaseException):
            raise answer
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response._content_consumed = True
        response.raw = io.BytesIO(answer.body)
        response.reason = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found"}.get(answer.status, "Fuzz")
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = prepared.url
        response.request = prepared
        response.connection = adapter
        return response


# -- a plausible server ---------------------------------------------------------------------------------------------

UUID = "5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10"
UUID2 = "7e1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b"
AUTHENTIK_OBJECT = {
    "pk": UUID, "name": "Fuzz", "slug": "fuzz", "username": "fuzz", "managed": None, "component": "ak-fuzz",
    "assigned_application_slug": "fuzz-app", "assigned_application_name": "Fuzz app",
    "url_sso_post": AUTHENTIK_URL + "/application/saml/fuzz-app/sso/binding/post/",
    "url_sso_redirect": AUTHENTIK_URL + "/application/saml/fuzz-app/sso/binding/redirect/",
    "url_sso_init": AUTHENTIK_URL + "/application/saml/fuzz-app/sso/binding/init/",
    "url_slo_post": AUTHENTIK_URL + "/application/saml/fuzz-app/slo/binding/post/",
    "url_issuer": AUTHENTIK_URL, "issuer": AUTHENTIK_URL, "signing_kp": UUID2, "verification_kp": None,
    "fingerprint_sha256": FINGERPRINT, "cert_subject": "CN=fuzz", "key_type": "rsa", "private_key_available": True,
    "expression": "return 1", "saml_name": "User.Email", "provider": 1, "backchannel_providers": [],
    "property_mappings": [], "target": UUID, "group": None, "user": None, "policy": None, "order": 0,
    "enabled": True, "negate": False, "timeout": 30, "callback_url": AUTHENTIK_URL + "/source/oauth/callback/fuzz/",
}
SOAP_NS = ('xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
SALESFORCE_FIELDS = {
    "SamlSsoConfig": ("<identityLocation>SubjectNameId</identityLocation>"
                      "<identityMapping>FederationId</identityMapping><issuer>%s</issuer><loginUrl>%s/sso/</loginUrl><name>fuzz</name><redirectBinding>false"
                      "</redirectBinding><requestSignatureMethod>1</requestSignatureMethod><salesforceLoginUrl>"
                      "%s?so=%s</salesforceLoginUrl><samlEntityId>%s</samlEntityId><samlVersion>SAML2_0</samlVersion>"
                      "<userProvisioning>true</userProvisioning><validationCert>MIIB</validationCert>"
                      % (AUTHENTIK_URL, AUTHENTIK_URL, SALESFORCE_URL, ORG_ID, SALESFORCE_URL)),
    "SecuritySettings": ("<singleSignOnSettings><enableSamlLogin>false</enableSamlLogin>"
                         "<enableCaseInsensitiveFederationID>false</enableCaseInsensitiveFederationID>"
                         "<isLoginWithSalesforceCredentialsDisabled>false</isLoginWithSalesforceCredentialsDisabled>"
                         "</singleSignOnSettings>"),
    "ExtlClntAppGlobalOauthSettings": ("<callbackUrl>%s/cb</callbackUrl><consumerKey>3MVG9fuzzkey</consumerKey>"
                                       "<isClientCredentialsFlowEnabled>true</isClientCredentialsFlowEnabled>"
                                       "<isPkceRequired>true</isPkceRequired>" % AUTHENTIK_URL),
    "ExtlClntAppOauthSettings": "<commaSeparatedOauthScopes>Api,OpenID</commaSeparatedOauthScopes>",
    "ExtlClntAppConfigurablePolicies": "<isEnabled>true</isEnabled><isOauthPluginEnabled>true</isOauthPluginEnabled>",
}


def soap_envelope(inner):
    return ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope %s><soapenv:Body>%s</soapenv:Body>'
            '</soapenv:Envelope>' % (SOAP_NS, inner))


def _xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def benign_answer(request, world):
    """What a healthy server would answer. `world`: "empty" (the objects a module manages do not exist yet; the
    Salesforce records it refers to and the org's settings do) or "existing" (everything asked for exists, with the
    name it was asked for)."""
    parts = request.parts
    if parts.hostname not in OWN_HOSTS:
        return Answer(404, b"not here", {"Content-Type": "text/plain"})
    if parts.hostname == "authentik.fuzz.test":
        return _authentik_answer(request, world)
    return _salesforce_answer(request, world)


def _echo(*sources):
    obj = dict(AUTHENTIK_OBJECT)
    for source in sources:
        for key, value in (source or {}).items():
            if key in ("page", "page_size", "ordering"):
                continue
            if key == "search":
                obj.update(name=value, slug=value, username=value)
            else:
                obj[key] = value
    return obj


def _authentik_answer(request, world):
    path = request.path.split("/api/v3", 1)[-1]
    query = request.query
    if request.method == "GET":
        if path.startswith("/admin/version/"):
            return Answer.json({"version_current": "2025.12.4", "version_latest": "2025.12.4", "build_hash": ""})
        if path.endswith("/view_certificate/"):
            return Answer.json({"data": CERTIFICATE})
        if path.endswith("/metadata/"):
            return Answer.json({"metadata": "<md:EntityDescriptor entityID='%s'/>" % AUTHENTIK_URL,
                                "download_url": AUTHENTIK_URL + "/metadata.xml"})
        if path.endswith("/preview_user/"):
            return Answer.json({"preview": {"nameID": "fuzz@example.com",
                                            "attributes": [{"Name": "User.Email", "Value": ["fuzz@example.com"]}]}})
        if "page" in query or "page_size" in query:
            results = [] if world == "empty" else [_echo(query)]
            return Answer.json({"pagination": {"next": 0, "previous": 0, "count": len(results), "current": 1,
                                               "total_pages": 1, "start_index": 1, "end_index": len(results)},
                                "results": results})
        if world == "empty":
            return Answer.json({"detail": "Not found."}, status=404)
        segment = unquote(path.rstrip("/").rsplit("/", 1)[-1])
        return Answer.json(_echo({"slug": segment}))
    body = {}
    with contextlib.suppress(ValueError):
        body = json.loads(request.body or b"{}")
    if request.method == "DELETE":
        return Answer(204)
    return Answer.json(_echo(body if isinstance(body, dict) else {}), status=201 if request.method == "POST" else 200)


def _salesforce_answer(request, world):
    path = request.path
    if path.rstrip("/").endswith("/services/oauth2/token"):
        return Answer.json({"access_token": SESSION_TOKEN, "instance_url": SALESFORCE_URL, "token_type": "Bearer",
                            "id": "https://login.salesforce.com/id/%s/%s" % (ORG_ID, USER_ID), "scope": "api",
                            "issued_at": "1798000000000", "signature": "c2lnbmF0dXJl"})
    if path.rstrip("/") == "/services/data":
        return Answer.json([{"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"}])
    if path.endswith("/query") or path.endswith("/query/"):
        soql = request.query.get("q", "")
        if "FROM Organization" in soql:
            records = [{"Id": ORG_ID}]
        else:  # records a module refers to (users, profiles, certificates) exist in both worlds
            match = re.match(r"SELECT Id, (\w+)", soql)
            column = match.group(1) if match else "Name"
            names = [re.sub(r"\\(.)", r"\1", literal) for literal in re.findall(r"'((?:[^'\\]|\\.)*)'", soql)]
            records = [{"attributes": {"type": "X"}, "Id": "0FZ%012d" % index, column: name}
                       for index, name in enumerate(names)]
        return Answer.json({"totalSize": len(records), "done": True, "records": records})
    if "/services/Soap/" in path:
        return Answer.xml(soap_envelope(_soap_inner(request, world)))
    return Answer.json([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], status=404)


def _soap_inner(request, world):
    operation = request.soap_action or "readMetadata"
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:  # the module sent XML that is not well-formed: Salesforce answers with a fault
        return ("<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Unexpected element</faultstring>"
                "</soapenv:Fault>")
    local = {el.tag.rsplit("}", 1)[-1]: el for el in root.iter()}
    type_name = (local.get("type").text or "") if local.get("type") is not None else ""
    names = [el.text or "" for el in root.iter() if el.tag.endswith("}fullNames") or el.tag.endswith("}fullName")]
    if operation == "readMetadata":
        records = []
        for name in names:
            type_name = _soap_type(type_name)
            if world == "empty" and type_name != "SecuritySettings":  # org-wide settings always exist
                records.append('<records xsi:type="%s"/>' % type_name)
            else:
                fields = SALESFORCE_FIELDS.get(type_name, "<label>fuzz</label>")
                records.append('<records xsi:type="%s"><fullName>%s</fullName>%s</records>'
                               % (type_name, _xml_escape(name), fields))
        return "<readMetadataResponse><result>%s</result></readMetadataResponse>" % "".join(records)
    results = "".join("<result><fullName>%s</fullName><success>true</success><created>true</created></result>"
                      % _xml_escape(name) for name in names)
    return "<{0}Response>{1}</{0}Response>".format(operation, results)


def _soap_type(type_name):
    return type_name if re.match(r"^\w+$", type_name or "") else "Metadata"


# -- running a module -----------------------------------------------------------------------------------------------

@dataclass
class Run:
    module: str
    args: dict
    check_mode: bool
    stdout: str = ""
    result: dict = None
    exit_code: object = None
    uncaught: str = None  # the traceback of an exception that escaped main()
    requests: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)
    sleep_errors: list = field(default_factory=list)


class FakeSleep:
    """time.sleep that returns at once, but refuses what the real one refuses (negative, nan, too large)."""

    def __init__(self):
        self.calls = []
        self.errors = []

    def __call__(self, seconds):
        self.calls.append(seconds)
        if not isinstance(seconds, (int, float)):
            self.errors.append("sleep(%r): not a number" % (seconds,))
            raise TypeError("'%s' object cannot be interpreted as an integer" % type(seconds).__name__)
        if math.isnan(seconds):
            self.errors.append("sleep(nan)")
            raise ValueError("Invalid value NaN (not a number)")
        if seconds < 0:
            self.errors.append("sleep(%r): negative" % seconds)
            raise ValueError("sleep length must be non-negative")
        if seconds > 1e9:
            self.errors.append("sleep(%r): too large" % seconds)
            raise OverflowError("timestamp too large to convert to C _PyTime_t")


_REAL_SLEEP = time.sleep


@contextlib.contextmanager
def patched(replacements):
    saved = []
    try:
        for owner, name, value in replacements:
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _sleep_references(fake):
    """Every place in the collection's code that holds time.sleep itself: default arguments (sleep=time.sleep)
    are bound when the function is defined, so patching time.sleep alone would not reach them."""
    replacements = [(time, "sleep", fake)]
    for name, module in list(sys.modules.items()):
        if not name.startswith(COLLECTION + ".plugins") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is _REAL_SLEEP:
                replacements.append((module, attribute, fake))
            for function in _functions(value):
                for which in ("__defaults__", "__kwdefaults__"):
                    defaults = getattr(function, which)
                    if isinstance(defaults, tuple) and any(item is _REAL_SLEEP for item in defaults):
                        replacements.append((function, which, tuple(fake if item is _REAL_SLEEP else item
                                                                    for item in defaults)))
                    elif isinstance(defaults, dict) and any(item is _REAL_SLEEP for item in defaults.values()):
                        replacements.append((function, which, {key: fake if item is _REAL_SLEEP else item
                                                               for key, item in defaults.items()}))
    return replacements


def _functions(value):
    if isinstance(value, types.FunctionType):
        yield value
    elif isinstance(value, type) and value.__module__.startswith(COLLECTION):
        for member in vars(value).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, types.FunctionType):
                yield member


def argument_spec(name):
    """The argument spec a module gives AnsibleModule (captured from one run against the benign server)."""
    captured = {}
    original = basic.AnsibleModule.__init__

    def capture(self, *args, **kwargs):
        captured.setdefault("spec", kwargs.get("argument_spec", args[0] if args else {}))
        original(self, *args, **kwargs)

    with patched([(basic.AnsibleModule, "__init__", capture)]):
        run_module(name, BASE_ARGS[name][0], lambda request: benign_answer(request, "empty"), check_mode=True)
    return captured["spec"]


def load_module(name):
    return importlib.import_module("%s.plugins.modules.%s" % (COLLECTION, name))


def run_module(name, args, answer, check_mode=False, tmpdir=None):
    """One module run, in-process, with every HTTP request answered by `answer`."""
    module = load_module(name)
    run = Run(name, args, check_mode)
    server = FakeServer(answer)
    sleep = FakeSleep()
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True, _ansible_no_log=False,
                   _ansible_verbosity=3, _ansible_module_name="sso.authentik." + name,
                   _ansible_tmpdir=str(tmpdir) if tmpdir else None, _ansible_remote_tmp=str(tmpdir or "/tmp"),
                   _ansible_keep_remote_files=False)
    if TRACEBACKS:  # a hunt: the catch-all's traceback in the result, to say where a defect is
        payload["_ansible_tracebacks_for"] = ["error"]
    stdout = io.StringIO()
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    cwd = os.getcwd()
    # The modules read AUTHENTIK_* and SALESFORCE_* variables for options left out: none may come from outside.
    environment = {key: value for key, value in os.environ.items() if key.startswith(("AUTHENTIK_", "SALESFORCE_"))}
    for key in environment:
        del os.environ[key]

    def adapter_send(adapter, prepared, **kwargs):  # a function, so that the class binds it to the adapter
        return server.send(adapter, prepared, **kwargs)

    replacements = [(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode()),
                    (basic, "_ANSIBLE_PROFILE", "legacy"),
                    (requests.adapters.HTTPAdapter, "send", adapter_send)]
    try:
        if tmpdir:
            os.chdir(tmpdir)
        with patched(replacements + _sleep_references(sleep)), contextlib.redirect_stdout(stdout):
            try:
                module.main()
            except SystemExit as exc:
                run.exit_code = exc.code
            except BaseException as exc:  # noqa: B036 - a module must not let anything escape main()
                if type(exc).__module__.startswith("hypothesis"):
                    raise  # the fuzz's own control flow (an example given up), not the module's
                import traceback

                run.uncaught = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    finally:
        os.chdir(cwd)
        os.environ.update(environment)
    run.stdout = stdout.getvalue()
    run.requests = server.requests
    run.sleeps = sleep.calls
    run.sleep_errors = sleep.errors
    try:
        run.result = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else None
    except (ValueError, IndexError):
        run.result = None
    return run


# -- judging a run --------------------------------------------------------------------------------------------------

def _traceback_excerpt(text, lines=6):
    text = text.strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:])


def problems(run, secrets=SECRETS, allowed=None, identifiers=False, hosts_of_secrets=OWN_HOSTS):
    """What is wrong with a run, as a list of sentences (empty: nothing).

    allowed: {result key: value} that may hold a secret by design (salesforce_login returns its access token).
    identifiers: also check that no request path or query was changed by a hostile identifier (the values of the
    option fuzz put "victim" behind '/', '..', '?' and '#').
    """
    found = []
    if run.uncaught:
        if "RequestStorm" in run.uncaught:
            found.append("request storm: more than %d requests (a loop); last: %s"
                         % (MAX_REQUESTS, run.requests[-1].describe()))
        else:
            found.append("uncaught exception (traceback): %s" % _traceback_excerpt(run.uncaught))
    elif run.result is None:
        found.append("no JSON result on stdout (exit %r): %r" % (run.exit_code, run.stdout[-300:]))
    result = run.result or {}
    message = str(result.get("msg", ""))
    if message.startswith("Unexpected error"):
        exception = result.get("exception")
        excerpt = " -- " + _traceback_excerpt(str(exception)) if exception else ""
        found.append("engine catch-all: %s%s" % (message[:300], excerpt))
    if "Traceback (most recent call last)" in run.stdout and not run.uncaught and not TRACEBACKS:
        found.append("a traceback in the output")
    shown = dict(result)
    for key in (allowed or {}):
        shown.pop(key, None)
    shown.pop("invocation", None)  # Ansible's own echo of the arguments, masked by no_log
    text = json.dumps(shown, ensure_ascii=False) + json.dumps(shown)
    for secret in leaked(text, secrets):
        found.append("secret %s in the module's output" % secret)
    if run.check_mode:
        writes = [request.describe() for request in run.requests if request.is_write()]
        if writes:
            found.append("write in check mode: %s" % "; ".join(writes[:3]))
    for request in run.requests:
        host = request.parts.hostname
        if host in hosts_of_secrets:
            continue
        sent = json.dumps(request.headers) + request.text
        for secret in leaked(sent, secrets):
            found.append("secret %s sent to another host: %s" % (secret, request.describe()))
    if identifiers:
        found.extend(_target_changes(run.requests))
    for error in run.sleep_errors:
        found.append("time.sleep would raise: %s" % error)
    for seconds in run.sleeps:
        if isinstance(seconds, (int, float)) and not math.isnan(seconds) and MAX_BELIEVED_SLEEP < seconds <= 1e9:
            found.append("slept %.0f s at once (a Retry-After above 60 s must not be believed)" % seconds)
            break
    return found


def _target_changes(requests_sent):
    found = []
    for request in requests_sent:
        segments = []
        for segment in unquote(request.path).split("/"):
            if segment == "..":
                if segments:
                    segments.pop()
            elif segment not in ("", "."):
                segments.append(segment)
        if "victim" in segments:
            found.append("identifier changed the target: %s" % request.describe())
        if "victim" in request.query or any("victim" in key for key in request.query):
            found.append("identifier added a query parameter: %s" % request.describe())
        if request.parts.fragment:
            found.append("identifier added a fragment: %s" % request.describe())
        if "/services/Soap/" in request.path:
            with contextlib.suppress(ET.ParseError):
                names = [el.text for el in ET.fromstring(request.body).iter()
                         if el.tag.endswith("}fullNames") or el.tag.endswith("}fullName")]
                if "victim" in names:
                    found.append("identifier injected a SOAP element: %s" % request.describe())
        soql = request.query.get("q", "")
        if re.search(r"(?<!\\)'victim'", soql):
            found.append("identifier injected SOQL: %s" % soql[:200])
    return found


# -- valid arguments of every module --------------------------------------------------------------------------------

AUTHENTIK = {"url": AUTHENTIK_URL, "token": TOKEN, "retries": 2}
SALESFORCE = {"instance_url": SALESFORCE_URL, "client_id": "3MVG9fuzz", "client_secret": CLIENT_SECRET, "retries": 2}
SALESFORCE_JWT = {"instance_url": SALESFORCE_URL, "client_id": "3MVG9fuzz", "username": "admin@fuzz.example",
                  "private_key": PRIVATE_KEY, "retries": 2}
IDP_SSO = AUTHENTIK_URL + "/application/saml/salesforce/sso/binding/post/"

# One or more valid argument sets per module; the fuzz starts from one and makes one option hostile.
BASE_ARGS = {
    "saml_property_mapping": [dict(AUTHENTIK, name="Fuzz: Email", saml_name="User.Email", friendly_name="email",
                                   expression="return request.user.email")],
    "scim_property_mapping": [dict(AUTHENTIK, name="Fuzz SCIM", expression='return {"userName": request.user.email}')],
    "certificate_keypair": [dict(AUTHENTIK, name="Fuzz import", certificate=CERTIFICATE, private_key=PRIVATE_KEY),
                            dict(AUTHENTIK, name="Fuzz generated", common_name="fuzz.example",
                                 subject_alt_names=["fuzz.example"], validity_days=365, algorithm="rsa")],
    "certificate_keypair_info": [dict(AUTHENTIK, name="authentik Self-signed Certificate")],
    "saml_provider": [dict(AUTHENTIK, name="Fuzz provider", authorization_flow="default-provider-authorization-"
                           "implicit-consent", invalidation_flow="default-provider-invalidation-flow",
                           acs_url=SALESFORCE_URL + "?so=" + ORG_ID, issuer=AUTHENTIK_URL, audience=SALESFORCE_URL,
                           sp_binding="post", signing_certificate="authentik Self-signed Certificate",
                           sign_assertion=True, sign_response=False, name_id_mapping="goauthentik.io/providers/saml/"
                           "email", property_mappings=["goauthentik.io/providers/saml/email", "Fuzz: Email"],
                           digest_algorithm="sha256", signature_algorithm="rsa-sha256")],
    "saml_provider_info": [dict(AUTHENTIK, name="Fuzz provider", preview_user="fuzz")],
    "authentik_info": [dict(AUTHENTIK, flows=["default-provider-authorization-implicit-consent"], groups=["Fuzz group"],
                            users=["fuzz"], licence=True)],
    "application": [dict(AUTHENTIK, slug="fuzz-app", name="Fuzz app", provider="Fuzz provider",
                         launch_url=SALESFORCE_URL, policy_engine_mode="any", open_in_new_tab=True)],
    "application_binding": [dict(AUTHENTIK, application="fuzz-app", group="Fuzz group", order=0),
                            dict(AUTHENTIK, application="fuzz-app", user="fuzz", state="absent")],
    "oauth_source": [dict(AUTHENTIK, slug="salesforce", name="Salesforce", provider_type="openidconnect",
                          consumer_key="3MVG9fuzz", consumer_secret=CONSUMER_SECRET,
                          authorization_url=SALESFORCE_URL + "/services/oauth2/authorize",
                          access_token_url=SALESFORCE_URL + "/services/oauth2/token",
                          profile_url=SALESFORCE_URL + "/services/oauth2/userinfo", pkce="S256"),
                     dict(AUTHENTIK, slug="salesforce", state="absent")],
    "scim_provider": [dict(AUTHENTIK, name="Fuzz SCIM", scim_url=SALESFORCE_URL + "/services/scim/v2",
                           auth_mode="token", scim_token=SCIM_TOKEN, compatibility_mode="salesforce",
                           exclude_service_accounts=True)],
    "salesforce_login": [dict(SALESFORCE), dict(SALESFORCE_JWT)],
    "salesforce_org_info": [dict(SALESFORCE, profiles=["Standard User"], users=["fuzz@example.com"],
                                 certificates=["authentik"], saml_sso_configs=True),
                            dict(SALESFORCE_JWT, api_version="63.0")],
    "salesforce_sso_settings": [dict(SALESFORCE, saml_enabled=True, case_insensitive_federation_id=True)],
    "salesforce_sso_check": [dict(SALESFORCE, provider="Fuzz provider", saml_config="authentik",
                                  profile="Standard User", jit_provisioning="standard", preview_user="fuzz",
                                  authentik=dict(url=AUTHENTIK_URL, token=TOKEN, retries=2))],
    "salesforce_saml_sso_config": [dict(SALESFORCE, name="authentik", label="authentik", issuer=AUTHENTIK_URL,
                                        idp_certificate=CERTIFICATE, idp_login_url=IDP_SSO, entity_id=SALESFORCE_URL,
                                        identity_type="federation_id", identity_location="subject",
                                        sp_initiated_binding="post", request_signature_method="RSA-SHA256",
                                        jit_provisioning="standard")],
    "salesforce_external_client_app": [dict(SALESFORCE, name="authentik", label="authentik",
                                            contact_email="admin@fuzz.example",
                                            callback_urls=[AUTHENTIK_URL + "/source/oauth/callback/salesforce/"],
                                            scopes=["api", "openid", "email"], pkce_required=True,
                                            client_credentials_flow=True, client_credentials_user="scim@fuzz.example")],
}
# What a module returns on purpose although it is a secret elsewhere.
ALLOWED_SECRETS = {"salesforce_login": {"access_token"}}
COLLECTION_MODULES_DIR = list(importlib.import_module(COLLECTION + ".plugins.modules").__path__)[0]
