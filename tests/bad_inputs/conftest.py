"""Fixtures of the bad-input matrix (run it with `make bad-inputs`; the cases are in cases.py).

The matrix runs against sandboxes of its own, served over HTTPS with a certificate signed by a CA generated for
the session: the authentik sandbox (newest profile) and the Salesforce sandbox. Every case but the TLS ones passes
that CA as ca_path, so the whole matrix also shows that a private CA works; the TLS cases leave it out and must be
refused. The sandboxes listen on free ports of 127.0.0.1 and are stopped when the session ends.
"""

import datetime
import ipaddress
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SRC = COLLECTION_ROOT / "tests" / "sandbox"
AUTHENTIK_PROFILE = "2026.8"
SALESFORCE_ORG_ID = "00DSB0000000002"
SALESFORCE_USERNAME = "admin@matrix.sso-authentik.test"

# .../ansible_collections/sso/authentik/tests/bad_inputs: the folder holding ansible_collections goes on the path.
if COLLECTION_ROOT.parts[-3:-2] == ("ansible_collections",):
    COLLECTIONS_PATH = str(COLLECTION_ROOT.parents[2])
    if COLLECTIONS_PATH not in sys.path:
        sys.path.insert(0, COLLECTIONS_PATH)
else:
    COLLECTIONS_PATH = None


# -- certificates -------------------------------------------------------------------------------------------------

def _key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key):
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _certificate(subject, key, issuer=None, issuer_key=None, days=365, ca=False, ip=None):
    """A certificate for `subject`, signed by issuer/issuer_key (self-signed without them); days < 0: expired."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=30), now + datetime.timedelta(days=days)) if days > 0 else \
        (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1))
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer is not None else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("localhost")]),
            critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Files and PEM texts the cases use: a CA and the sandboxes' certificate, the JWT key, and bad ones."""
    directory = tmp_path_factory.mktemp("pki")
    files = {}

    def write(name, text, private=False):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        if private:
            path.chmod(0o600)
        files[name] = str(path)
        return text

    ca_key = _key()
    ca_cert, ca_pem = _certificate("sso.authentik bad-input matrix CA", ca_key, days=30, ca=True)
    write("ca.crt", ca_pem)
    server_key = _key()
    write("server.key", _pem_key(server_key), private=True)
    write("server.crt", _certificate("127.0.0.1", server_key, ca_cert, ca_key, days=30, ip="127.0.0.1")[1])
    jwt_key = _key()
    write("jwt.key", _pem_key(jwt_key), private=True)
    texts = {
        "jwt_pem": write("jwt.crt", _certificate("sso-authentik-matrix-jwt", jwt_key)[1]),
        "other_key": write("other.key", _pem_key(_key()), private=True),  # belongs to no certificate
    }
    one_key = _key()
    texts["one_pem"] = write("one.crt", _certificate("matrix-one", one_key)[1])
    texts["one_key"] = write("one.key", _pem_key(one_key), private=True)
    expired_key = _key()
    texts["expired_pem"] = write("expired.crt", _certificate("matrix-expired", expired_key, days=-1)[1])
    texts["expired_key"] = write("expired.key", _pem_key(expired_key), private=True)
    texts["not_pem"] = write("not-pem.txt", "MIIBszCCAVmgAwIBAgIUQx not a certificate\n")
    # A PEM block whose body is not a certificate: passes a quick look, fails to parse.
    texts["broken_pem"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    return {"dir": str(directory), "files": files, **texts}


# -- sandboxes ----------------------------------------------------------------------------------------------------

def _authentik_python():
    variable = "AUTHENTIK_SANDBOX_PYTHON_" + AUTHENTIK_PROFILE.replace(".", "_")
    python = os.environ.get(variable) or str(COLLECTION_ROOT / ".venvs" / ("authentik-" + AUTHENTIK_PROFILE) / "bin"
                                             / "python")
    if not Path(python).exists():
        pytest.fail("%s is not set to an existing interpreter (%r); run the matrix with `make bad-inputs`"
                    % (variable, python), pytrace=False)
    return python


class TlsServer:
    """One sandbox server started in a session of its own, serving HTTPS on a free port."""

    def __init__(self, name, command, directory, ca_file):
        self.name = name
        self.port_file = Path(directory) / (name + ".port")
        self.log_file = Path(directory) / (name + ".log")
        self.context = ssl.create_default_context(cafile=ca_file)
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(command + ["--port", "0", "--port-file", str(self.port_file)],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.url = None

    def wait(self, timeout=180):  # a bound against a hang: a busy machine starts authentik-client slowly
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                url = "https://127.0.0.1:%d" % int(self.port_file.read_text().strip())
                with urllib.request.urlopen(url + "/_sandbox/requests", timeout=2, context=self.context):
                    self.url = url
                    return url
            except (OSError, ValueError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        pytest.fail("sandbox %s did not start; its log:\n%s" % (self.name, self.log_file.read_text()[-3000:]),
                    pytrace=False)

    def control(self, method, path, body=None):
        """A call to the sandbox's control API (not logged): /_sandbox/<path>."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/_sandbox/" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
            text = response.read()
        return json.loads(text) if text else None

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture(scope="session")
def sandboxes(pki, tmp_path_factory):
    """{"authentik": TlsServer, "salesforce": TlsServer, "token", "client_id", "client_secret"}."""
    directory = tmp_path_factory.mktemp("sandboxes")
    files = pki["files"]
    tls = ["--tls-cert", files["server.crt"], "--tls-key", files["server.key"]]
    token = secrets.token_urlsafe(24)
    config = {"org_id": SALESFORCE_ORG_ID, "username": SALESFORCE_USERNAME, "jwt_certificate": pki["jwt_pem"],
              "client_id": "3MVG9matrix" + secrets.token_hex(12), "client_secret": secrets.token_hex(24)}
    config_file = directory / "salesforce.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    servers = {
        "authentik": TlsServer("authentik", [_authentik_python(), str(SANDBOX_SRC / "authentik" / "server.py"),
                                             "--profile", AUTHENTIK_PROFILE, "--token=" + token] + tls,
                               directory, files["ca.crt"]),
        "salesforce": TlsServer("salesforce", [sys.executable, str(SANDBOX_SRC / "salesforce" / "server.py"),
                                               "--config", str(config_file)] + tls, directory, files["ca.crt"]),
    }
    try:
        for server in servers.values():
            server.wait()
        yield dict(servers, token=token, client_id=config["client_id"], client_secret=config["client_secret"])
    finally:
        for server in servers.values():
            server.stop()


def _authentik_api(sandboxes, pki, method, path, body=None):
    """A direct authentik API call, to set up a situation a case needs (before its log is cleared)."""
    import requests

    response = requests.request(method, sandboxes["authentik"].url + "/api/v3" + path, json=body, timeout=10,
                                verify=pki["files"]["ca.crt"],
                                headers={"Authorization": "Bearer " + sandboxes["token"]})
    response.raise_for_status()
    return response.json() if response.content else None


@pytest.fixture(scope="session")
def context(pki, sandboxes):
    """What the cases' <<placeholders>> stand for, after the situations some cases need are set up:
    a SAML provider that no application uses, and an application with the same group bound twice."""
    authentik = sandboxes["authentik"]
    authentik.control("POST", "reset", {})
    sandboxes["salesforce"].control("POST", "reset", {})

    def api(method, path, body=None):
        return _authentik_api(sandboxes, pki, method, path, body)

    flow = api("GET", "/flows/instances/?page_size=100")
    flows = {item["slug"]: item["pk"] for item in flow["results"]}
    api("POST", "/providers/saml/", {"name": "Matrix orphan", "acs_url": "https://matrix.example.com/acs",
                                     "authorization_flow": flows["default-provider-authorization-implicit-consent"],
                                     "invalidation_flow": flows["default-provider-invalidation-flow"]})
    application = api("POST", "/core/applications/", {"slug": "matrix", "name": "Matrix"})
    group = api("GET", "/core/groups/?name=authentik%20Admins")["results"][0]
    for order in (0, 1):
        api("POST", "/policies/bindings/", {"target": application["pk"], "group": group["pk"], "order": order})
    files = pki["files"]
    return {
        "authentik_url": authentik.url, "token": sandboxes["token"], "ca": files["ca.crt"],
        "salesforce_url": sandboxes["salesforce"].url, "client_id": sandboxes["client_id"],
        "client_secret": sandboxes["client_secret"], "username": SALESFORCE_USERNAME,
        "jwt_key_file": files["jwt.key"], "other_key_file": files["other.key"], "not_pem_file": files["not-pem.txt"],
        "missing_file": str(Path(pki["dir"]) / "no-such.key"),
        "one_pem": pki["one_pem"], "one_key": pki["one_key"], "other_key": pki["other_key"],
        "expired_pem": pki["expired_pem"], "expired_key": pki["expired_key"], "not_pem": pki["not_pem"],
        "broken_pem": pki["broken_pem"],
    }
