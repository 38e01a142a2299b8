"""Fixtures of the bad-input matrix (run it with `make bad-inputs`; the cases are in cases.py).

The matrix runs against sandboxes of its own, served over HTTPS with a certificate signed by a CA generated for
the session: the authentik sandbox (newest profile) and the Salesforce sandbox. Every case but the TLS ones passes
that CA as ca_path, so the whole matrix also shows that a private CA works; the TLS cases leave it out and must be
refused. The sandboxes listen on free ports of 127.0.0.1 and are stopped when the session ends.
"""

import secrets
from pathlib import Path

import pytest
from support import certificates, sandboxes as launcher

AUTHENTIK_PROFILE = "2026.8"
SALESFORCE_ORG_ID = "00DSB0000000002"
SALESFORCE_USERNAME = "admin@matrix.sso-authentik.test"


# -- certificates -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Files and PEM texts the cases use: a CA and the sandboxes' certificate, the JWT key, and bad ones."""
    directory = tmp_path_factory.mktemp("pki")
    files = {}

    def write(name, text, private=False):
        path = directory / name
        if private:
            certificates.write_private(path, text)
        else:
            path.write_text(text, encoding="utf-8")
        files[name] = str(path)
        return text

    def self_signed(subject, days=365):
        key = certificates.new_key()
        return certificates.cert_pem(certificates.certificate(subject, key, days=days, ca=False)), \
            certificates.key_pem(key)

    authority = certificates.Authority("sso.authentik bad-input matrix CA")
    write("ca.crt", authority.pem)
    server_pem, server_key = authority.issue("127.0.0.1", ips=["127.0.0.1"], dns=["localhost"])
    write("server.key", server_key, private=True)
    write("server.crt", server_pem)
    jwt_pem, jwt_key = self_signed("sso-authentik-matrix-jwt")
    write("jwt.key", jwt_key, private=True)
    texts = {
        "jwt_pem": write("jwt.crt", jwt_pem),
        "other_key": write("other.key", certificates.key_pem(certificates.new_key()), private=True),  # no certificate
    }
    one_pem, one_key = self_signed("matrix-one")
    texts["one_pem"] = write("one.crt", one_pem)
    texts["one_key"] = write("one.key", one_key, private=True)
    expired_pem, expired_key = self_signed("matrix-expired", days=-1)
    texts["expired_pem"] = write("expired.crt", expired_pem)
    texts["expired_key"] = write("expired.key", expired_key, private=True)
    texts["not_pem"] = write("not-pem.txt", "MIIBszCCAVmgAwIBAgIUQx not a certificate\n")
    # A PEM block whose body is not a certificate: passes a quick look, fails to parse.
    texts["broken_pem"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    return {"dir": str(directory), "files": files, **texts}


# -- sandboxes ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sandboxes(pki, tmp_path_factory):
    """{"authentik": Server, "salesforce": Server, "token", "client_id", "client_secret"} (support.sandboxes)."""
    launcher.require_pythons([AUTHENTIK_PROFILE])
    directory = tmp_path_factory.mktemp("sandboxes")
    files = pki["files"]
    tls = {"cert": files["server.crt"], "key": files["server.key"], "ca": files["ca.crt"]}
    token = secrets.token_urlsafe(24)
    config = {"org_id": SALESFORCE_ORG_ID, "username": SALESFORCE_USERNAME, "jwt_certificate": pki["jwt_pem"],
              "client_id": "3MVG9matrix" + secrets.token_hex(12), "client_secret": secrets.token_hex(24)}
    servers = {"authentik": launcher.authentik_server(directory, AUTHENTIK_PROFILE, token=token, tls=tls,
                                                      name="authentik"),
               "salesforce": launcher.salesforce_server(directory, config, tls=tls)}
    launcher.start_or_fail(*servers.values())
    try:
        yield dict(servers, token=token, client_id=config["client_id"], client_secret=config["client_secret"])
    finally:
        launcher.stop(*servers.values())


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
    authentik.control.reset()
    sandboxes["salesforce"].control.reset()

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
