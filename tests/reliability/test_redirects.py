# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redirects: no secret ever reaches a host the client was not given, and a redirected write fails in a sentence.

A sandbox answers one request of a module with a redirect (the `redirect` fault: 301/302/303/307/308 and a
Location). Where it points:

- other-host: a recorder (tests/sandbox/recorder.py) on 127.0.0.2, another loopback host;
- other-port: a recorder on 127.0.0.1, the sandbox's host, another port (another origin to a browser; requests
  strips Authorization on a port change, not the body);
- same-host: a path on the sandbox itself (the redirected request's own path);
- https: a recorder serving HTTPS on 127.0.0.1 (plain http upgraded; the module trusts its CA, so following it
  would work).

The recorders record everything they receive. For every module and target: the recorder receives no secret at all
(no Authorization, Cookie or Proxy-Authorization header; none of the run's secrets, raw, URL-encoded or base64, in
the target, headers or body; no JWT), no traceback, no secret in the module's output. A write, a login or a SOAP
call (which carry the private key, the JWT assertion, the client secret, the session id) must not be sent again:
the module fails with a message that says "redirect" and where it pointed. A GET may be followed without the
credentials or refused; either way nothing secret may reach the recorder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support import certificates, playbooks, sandboxes

import harness

MODULES = harness.COLLECTION_ROOT / "plugins" / "modules"
AK = "/api/v3"
OTHER_HOST = "127.0.0.2"
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
# Words that only a secret-carrying request holds (a re-sent login form, a SOAP header).
SECRET_WORDS = ("client_secret", "assertion=", "sessionId>", "PRIVATE KEY")


# --- set-up ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One sandbox set and three recorders, started for this file; stopped at its end."""
    base = os.environ.get("RELIABILITY_SANDBOX_DIR")
    # Under RELIABILITY_SANDBOX_DIR/sandbox*: what make reliability's trap stops should pytest die.
    directory = Path(base) / "sandbox-redirects" if base else tmp_path_factory.mktemp("redirects")
    lab = harness.Lab(directory, 1)
    sandbox = harness.Sandbox(lab, directory)
    files = certificates.tls_files(directory / "pki", "recorder", ips=(OTHER_HOST, "127.0.0.1"), dns=("localhost",))
    import_key = certificates.new_key()
    recorders = {
        "other-host": sandboxes.recorder(directory, "recorder-other-host", host=OTHER_HOST),
        "other-port": sandboxes.recorder(directory, "recorder-other-port"),
        "https": sandboxes.recorder(directory, "recorder-https", tls=files),
    }
    try:
        sandbox.start()
        sandboxes.start(*recorders.values())
        yield {"sandbox": sandbox, "recorders": recorders, "ca": str(files["ca"]), "dir": directory,
               "import_pem": certificates.cert_pem(certificates.certificate("redirected-import", import_key, ca=False)),
               "import_key": certificates.key_pem(import_key)}
    finally:
        sandboxes.stop(*recorders.values())
        sandbox.stop()
        lab.pool.shutdown(wait=False)


def authentik_api(sandbox, method, path, body=None):
    request = urllib.request.Request(sandbox.ak + AK + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + sandbox.env["AUTHENTIK_TOKEN"],
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


# --- the operations ----------------------------------------------------------------------------------------------
# Each: the module, its arguments (from the world and a per-test setup), the side and the fault rule that takes the
# request carrying the secret, the path that request goes to, and whether it is a write, a login or a SOAP call.

def ak_connection(world):
    sandbox = world["sandbox"]
    return {"url": sandbox.ak, "token": sandbox.env["AUTHENTIK_TOKEN"], "ca_path": world["ca"], "retries": 1,
            "timeout": 30}


def sf_connection(world):
    return {"instance_url": world["sandbox"].sf, "ca_path": world["ca"], "retries": 1, "timeout": 30}


def op_keypair_import(world, setup):
    args = dict(ak_connection(world), name="Redirected import", certificate=world["import_pem"],
                private_key=world["import_key"])
    return args, [world["import_key"]]


def op_binding(world, setup):
    return dict(ak_connection(world), application=setup["application"], group="authentik Admins"), []


def op_lookup(world, setup):
    return dict(ak_connection(world), name="authentik Self-signed Certificate"), []


def op_jwt_login(world, setup):
    sandbox = world["sandbox"]
    return dict(sf_connection(world), client_id=sandbox.env["SALESFORCE_CLIENT_ID"],
                username=sandbox.env["SALESFORCE_USERNAME"],
                private_key_file=sandbox.env["SALESFORCE_PRIVATE_KEY_FILE"]), []


def op_client_credentials(world, setup):
    sandbox = world["sandbox"]
    return dict(sf_connection(world), client_id=sandbox.env["SALESFORCE_CLIENT_ID"],
                client_secret=sandbox.env["SALESFORCE_CLIENT_SECRET"]), []


def op_soap(world, setup):
    return dict(sf_connection(world), access_token=setup["access_token"], saml_enabled=True), [setup["access_token"]]


def op_rest(world, setup):
    # A profile to resolve: a SOQL query (the org id alone comes from the token).
    return dict(sf_connection(world), access_token=setup["access_token"], profiles=["Standard User"]), [
        setup["access_token"]]


OPERATIONS = {
    # name: (module, builder, side, rule, path the redirected request goes to, carries a body/login secret)
    "authentik-keypair-import": ("certificate_keypair", op_keypair_import, "authentik",
                                 {"method": "POST", "path": "^%s/crypto/certificatekeypairs/$" % AK},
                                 AK + "/crypto/certificatekeypairs/", True),
    "authentik-binding-post": ("application_binding", op_binding, "authentik",
                               {"method": "POST", "path": "^%s/policies/bindings/$" % AK},
                               AK + "/policies/bindings/", True),
    "authentik-get-lookup": ("certificate_keypair_info", op_lookup, "authentik",
                             {"method": "GET", "path": "^%s/crypto/certificatekeypairs/$" % AK},
                             AK + "/crypto/certificatekeypairs/", False),
    "salesforce-jwt-login": ("salesforce_login", op_jwt_login, "salesforce",
                             {"api": "oauth", "operation": "token"}, "/services/oauth2/token", True),
    "salesforce-client-credentials": ("salesforce_login", op_client_credentials, "salesforce",
                                      {"api": "oauth", "operation": "token"}, "/services/oauth2/token", True),
    "salesforce-metadata-soap": ("salesforce_sso_settings", op_soap, "salesforce",
                                 {"api": "soap", "operation": "readMetadata"}, None, True),
    "salesforce-rest-get": ("salesforce_org_info", op_rest, "salesforce",
                            {"api": "rest", "operation": "query", "method": "GET"}, None, False),
}
# Where to, and with which statuses: every status to another host; the others with the statuses that keep the
# method and body (307/308) and one that turns it into a GET.
TARGETS = [("other-host", status) for status in (301, 302, 303, 307, 308)] + [
    ("other-port", 307), ("same-host", 302), ("same-host", 307), ("https", 308)]
CASES = [(op, target, status) for op in OPERATIONS for target, status in TARGETS]


# --- checks ----------------------------------------------------------------------------------------------------

def secret_forms(secret):
    """The secret and its telling pieces, each raw, URL-encoded and base64-encoded."""
    forms = set()
    for piece in harness.secret_pieces(secret):
        forms.update({piece, urllib.parse.quote(piece, safe=""), urllib.parse.quote_plus(piece),
                      base64.b64encode(piece.encode()).decode().rstrip("="),
                      base64.urlsafe_b64encode(piece.encode()).decode().rstrip("=")})
    return {form for form in forms if len(form) >= 8}


def haystacks(text):
    """A recorded text as sent, URL-decoded, and with every base64-looking run decoded."""
    out = [text, urllib.parse.unquote(text), urllib.parse.unquote_plus(text)]
    for run in BASE64_RUN.findall(out[-1]):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                out.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
            except ValueError:
                pass
    return out


def recorder_leaks(recorded, secrets):
    """What of the secrets the recorded requests carry."""
    found = []
    forms = {form: what for what, secret in secrets.items() for form in secret_forms(secret)}
    for entry in recorded:
        where = "%s %s" % (entry["method"], entry["path"])
        found += ["%s: header %s" % (where, name) for name, _value in entry["headers"]
                  if name.lower() in SECRET_HEADERS]
        texts = [entry["path"], entry["body"]] + [value for _name, value in entry["headers"]]
        for text in texts:
            for hay in haystacks(text):
                found += ["%s: %s" % (where, what) for form, what in forms.items() if form in hay]
                found += ["%s: a JWT" % where for _match in JWT.findall(hay)]
                found += ["%s: %r" % (where, word) for word in SECRET_WORDS if word in hay]
    return sorted(set(found))


def run_module(world, module, args, tmp_path):
    env = playbooks.clean_env({"PYTHONPATH": harness.collections_path()})
    return playbooks.run_module(MODULES / (module + ".py"), args, tmp_path, env)


@pytest.fixture()
def fresh(world):
    sandbox = world["sandbox"]
    sandbox.disarm()
    sandbox.reset()
    for recorder in world["recorders"].values():
        recorder.reset()
    return world


@pytest.mark.parametrize("operation, target, status", CASES, ids=["%s-%s-%d" % case for case in CASES])
def test_redirect_reaches_no_other_host_with_a_secret(fresh, tmp_path, operation, target, status):
    world = fresh
    sandbox = world["sandbox"]
    module, build, side, rule, path, carries_secret = OPERATIONS[operation]
    setup = {}
    if operation == "authentik-binding-post":
        setup["application"] = authentik_api(sandbox, "POST", "/core/applications/",
                                             {"slug": "redirected", "name": "Redirected"})["slug"]
    if side == "salesforce" and operation not in ("salesforce-jwt-login", "salesforce-client-credentials"):
        setup["access_token"] = sandbox.client_credentials_token()
    args, extra_secrets = build(world, setup)
    secrets = {"authentik token": sandbox.env["AUTHENTIK_TOKEN"],
               "Salesforce client secret": sandbox.env["SALESFORCE_CLIENT_SECRET"],
               "JWT private key": sandbox.private_key}
    secrets.update({"secret %d of the operation" % n: secret for n, secret in enumerate(extra_secrets)})

    # Where the redirect points: the same path on the target (a SOAP or REST call keeps its own path).
    sandbox_url = sandbox.ak if side == "authentik" else sandbox.sf
    request_path = path or {"salesforce-metadata-soap": "/services/Soap/m/65.0",
                            "salesforce-rest-get": "/services/data/v65.0/query"}[operation]
    location = request_path if target == "same-host" else world["recorders"][target].url + request_path
    fault = dict(rule, kind="redirect", status=status, location=location)
    sandbox.clear_logs()
    if side == "authentik":
        sandbox.arm(authentik=[fault])
    else:
        sandbox.arm(salesforce=[fault])

    result, output = run_module(world, module, args, tmp_path)
    ak_log, sf_log = sandbox.logs()  # settled
    log = ak_log if side == "authentik" else sf_log
    recorded = {name: recorder.requests() for name, recorder in world["recorders"].items()}
    described = "%s -> %d %s: %s\n%s" % (operation, status, location, result.get("msg"), output[-3000:])

    redirected = [entry for entry in log if entry.get("fault") == "redirect"]
    assert len(redirected) == 1, "the redirect rule did not fire: %s" % described
    # Every problem of the case at once, the worst first.
    problems = []
    leaks = {name: recorder_leaks(entries, secrets) for name, entries in recorded.items()}
    if any(leaks.values()):
        problems.append("secrets reached a recorder: %s" % {name: found for name, found in leaks.items() if found})
    if harness.TRACEBACK.search(output):
        problems.append("traceback or unexpected error")
    shown = [what for what, secret in secrets.items()
             if any(piece in output for piece in harness.secret_pieces(secret))]
    if shown:
        problems.append("the module's output shows %s" % shown)
    if carries_secret:
        absolute = urllib.parse.urljoin(sandbox_url + request_path, location)
        message = str(result.get("msg", ""))
        if not result.get("failed"):
            problems.append("a redirected write, login or SOAP call must fail, the module succeeded")
        if "redirect" not in message.lower():
            problems.append("the message does not say redirect")
        if location not in message and absolute not in message:
            problems.append("the message does not say where the redirect pointed")
        # Not followed at all (not even as a GET without the body), and not sent again to the sandbox itself.
        if target != "same-host" and recorded[target]:
            followed = ["%s %s" % (entry["method"], entry["path"]) for entry in recorded[target]]
            problems.append("the redirect was followed: %s" % followed)
        paths = (redirected[0]["path"], urllib.parse.urlsplit(absolute).path)
        again = [entry for entry in log if entry["seq"] > redirected[0]["seq"] and entry["path"] in paths
                 and entry["method"] == redirected[0]["method"]]
        if again:
            problems.append("the redirected request was sent again to the sandbox: %s" % [
                "%s %s -> %s" % (e["method"], e["path"], e["status"]) for e in again])
    assert not problems, "%s\n%s" % ("; ".join(problems), described)
