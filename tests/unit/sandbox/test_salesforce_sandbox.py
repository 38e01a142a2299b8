"""The Salesforce sandbox (tests/sandbox/salesforce) behaves like the contract says.

Starts the server once on a free port (tests/support/sandboxes.py); every test starts from a reset org.
"""

import base64
import json
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from support import certificates, sandboxes, waits
ORG_15 = "00D5g000004Ab1C"
CLIENT_ID = "3MVG9sandboxTestClient"
CLIENT_SECRET = "sandbox-test-secret"
USERNAME = "admin@example.com"
MD = "{http://soap.sforce.com/2006/04/metadata}"
# Client timeouts: bounds against a hang, far above what a busy 2-core machine takes.
TIMEOUT = 30
SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
SAML_ORDER = [  # the SamlSsoConfig sequence of the Metadata WSDL, fullName (from Metadata) first
    "fullName", "attributeName", "attributeNameIdFormat", "decryptionCertificate", "errorUrl", "executionUserId",
    "identityLocation", "identityMapping", "issuer", "loginUrl", "logoutUrl", "name", "oauthTokenEndpoint",
    "redirectBinding", "requestSignatureMethod", "requestSigningCertId", "salesforceLoginUrl", "samlEntityId",
    "samlJitHandlerId", "samlVersion", "singleLogoutBinding", "singleLogoutUrl", "useConfigRequestMethod",
    "useSameDigestAlgoForSigning", "userProvisioning", "validationCert",
]


def make_key_and_cert(common_name="sandbox-test"):
    key = certificates.new_key()
    return key, certificates.certificate(common_name, key, days=30)


JWT_KEY, JWT_CERT = make_key_and_cert("jwt")
IDP_KEY, IDP_CERT = make_key_and_cert("authentik")
IDP_CERT_B64 = base64.b64encode(IDP_CERT.public_bytes(serialization.Encoding.DER)).decode()


CONFIG = {
    "org_id": ORG_15, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": USERNAME,
    "jwt_certificate": JWT_CERT.public_bytes(serialization.Encoding.PEM).decode(),
    "api_versions": ["60.0", "61.0", "62.0", "63.0", "64.0", "65.0"],
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    server = sandboxes.start_or_fail(sandboxes.salesforce_server(tmp_path_factory.mktemp("salesforce-sandbox"),
                                                                 CONFIG))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture()
def url(base_url):
    assert requests.post(base_url + "/_sandbox/reset", timeout=TIMEOUT).status_code == 200
    return base_url


def jwt(claims, key=JWT_KEY):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = "%s.%s" % (b64(json.dumps({"alg": "RS256"}).encode()), b64(json.dumps(claims).encode()))
    return signing_input + "." + b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


def jwt_login(url, **overrides):
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": url, "exp": int(time.time()) + 170}
    claims.update(overrides)
    return requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt(claims)})


def token(url):
    response = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def rest(url, path, access_token, **params):
    return requests.get(url + path, params=params, headers={"Authorization": "Bearer " + access_token}, timeout=TIMEOUT)


def soap(url, access_token, body, version="63.0"):
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:met="http://soap.sforce.com/2006/'
        '04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>%s</met:sessionId></met:SessionHeader>'
        "</soapenv:Header><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>" % (access_token, body)
    )
    response = requests.post(url + "/services/Soap/m/" + version, data=envelope.encode(), timeout=TIMEOUT,
                             headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
    return response.status_code, ET.fromstring(response.content)


def fault_of(root):
    fault = root.find("%sBody/%sFault" % (SOAP_ENV, SOAP_ENV))
    assert fault is not None, ET.tostring(root)
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def results(root):
    return root.find(SOAP_ENV + "Body")[0].findall(MD + "result")


def metadata(type_name, *fields):
    return '<met:metadata xsi:type="met:%s">%s</met:metadata>' % (
        type_name, "".join("<met:%s>%s</met:%s>" % (k, v, k) for k, v in fields))


def saml_fields(issuer="https://authentik.example.com", **changes):
    fields = [("fullName", "authentik"), ("identityLocation", "SubjectNameId"), ("identityMapping", "FederationId"),
              ("issuer", issuer), ("loginUrl", "https://authentik.example.com/application/saml/sf/sso/binding/post/"),
              ("name", "authentik"), ("redirectBinding", "false"), ("requestSignatureMethod", "RSA-SHA256"),
              ("samlEntityId", "https://acme.my.salesforce.com"), ("samlVersion", "SAML2_0"),
              ("userProvisioning", "true"), ("validationCert", IDP_CERT_B64)]
    return [(k, changes.get(k, v)) for k, v in fields if changes.get(k, v) is not None]


def read(url, access_token, type_name, name):
    status, root = soap(url, access_token, "<met:readMetadata><met:type>%s</met:type><met:fullNames>%s"
                        "</met:fullNames></met:readMetadata>" % (type_name, name))
    assert status == 200, ET.tostring(root)
    return results(root)[0].find(MD + "records")


def save(url, access_token, operation, *items):
    status, root = soap(url, access_token, "<met:%s>%s</met:%s>" % (operation, "".join(items), operation))
    return status, root


# --- OAuth ------------------------------------------------------------------------------------------------------


def test_jwt_bearer_login_returns_a_working_token(url):
    response = jwt_login(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert body["instance_url"] == url
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith(ORG_15 + "!")
    assert body["id"].startswith(url + "/id/" + ORG_15)
    assert rest(url, "/services/data/v63.0/limits", body["access_token"]).status_code == 200


@pytest.mark.parametrize("overrides, description", [
    ({"aud": "https://test.salesforce.com"}, "audience is invalid"),
    ({"aud": "https://other.my.salesforce.com"}, "audience is invalid"),
    ({"exp": int(time.time()) - 3600}, "expired access/refresh token"),
    ({"exp": int(time.time()) + 3600}, "invalid assertion"),
    ({"sub": "nobody@example.com"}, "authentication failure"),
])
def test_jwt_bearer_refuses_bad_claims(url, overrides, description):
    response = jwt_login(url, **overrides)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}


def test_jwt_bearer_refuses_a_foreign_signature_and_an_unknown_client(url):
    other_key = make_key_and_cert("intruder")[0]
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": url, "exp": int(time.time()) + 170}
    response = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt(claims, other_key)})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert jwt_login(url, iss="unknown-client").json()["error"] == "invalid_client_id"
    # login.salesforce.com is an accepted audience by default (switch jwt_audiences)
    assert jwt_login(url, aud="https://login.salesforce.com").status_code == 200


def test_client_credentials(url):
    good = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, auth=(CLIENT_ID, CLIENT_SECRET),
                         data={"grant_type": "client_credentials"})
    assert good.status_code == 200 and good.json()["instance_url"] == url
    wrong = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"})
    assert wrong.status_code in (400, 401) and wrong.json()["error"] == "invalid_client"
    generic_host = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT,
                                 headers={"Host": "login.salesforce.com"},
                                 data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                       "client_secret": CLIENT_SECRET})
    assert generic_host.json() == {"error": "invalid_grant",
                                   "error_description": "request not supported on this domain"}
    unsupported = requests.post(url + "/services/oauth2/token", data={"grant_type": "password"}, timeout=TIMEOUT)
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_openid_discovery_and_userinfo(url):
    config = requests.get(url + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert config["token_endpoint"] == url + "/services/oauth2/token"
    assert requests.get(config["jwks_uri"], timeout=TIMEOUT).json()["keys"][0]["kty"] == "RSA"
    info = rest(url, "/services/oauth2/userinfo", token(url)).json()
    assert info["preferred_username"] == USERNAME and info["organization_id"].startswith(ORG_15)
    assert rest(url, "/services/oauth2/userinfo", "bogus").status_code == 403


# --- REST -------------------------------------------------------------------------------------------------------


def test_versions_are_public_and_not_counted(url):
    response = requests.get(url + "/services/data/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert "Sforce-Limit-Info" not in response.headers
    versions = response.json()
    assert [v["version"] for v in versions] == ["60.0", "61.0", "62.0", "63.0", "64.0", "65.0"]
    assert versions[3] == {"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"}
    assert requests.get(url + "/_sandbox/state", timeout=TIMEOUT).json()["counters"]["api_calls_used"] == 0


def test_soql_pages_with_next_records_url_and_counts_api_calls(url):
    access_token = token(url)
    response = rest(url, "/services/data/v63.0/query", access_token, q="SELECT Id, Name FROM Profile")
    body = response.json()
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert body["done"] is False and len(body["records"]) == 2  # query_page_size defaults to 2
    names = [r["Name"] for r in body["records"]]
    while not body["done"]:
        body = rest(url, body["nextRecordsUrl"], access_token).json()
        names += [r["Name"] for r in body["records"]]
    assert "System Administrator" in names and len(names) == body["totalSize"] == len(set(names))
    record = rest(url, "/services/data/v63.0/query", access_token,
                  q="select id, name from profile where name = 'system administrator'").json()["records"][0]
    assert record["Id"].startswith("00e") and len(record["Id"]) == 18
    assert record["attributes"] == {"type": "Profile", "url": "/services/data/v63.0/sobjects/Profile/" + record["Id"]}
    users = rest(url, "/services/data/v63.0/query", access_token,
                 q="SELECT Id, Profile.Name FROM User WHERE Username IN ('%s') LIMIT 1" % USERNAME).json()
    assert users["records"][0]["Profile"]["Name"] == "System Administrator"


@pytest.mark.parametrize("soql, code", [
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT Id FROM Profile WHERE Name LIKE 'S%'", "MALFORMED_QUERY"),
    ("SELECT COUNT() FROM User", "MALFORMED_QUERY"),
    ("SELECT Id, Nonsense FROM Profile", "INVALID_FIELD"),
    ("SELECT Id FROM Profile WHERE Bogus = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Account2", "INVALID_TYPE"),
])
def test_soql_refuses_what_it_does_not_understand(url, soql, code):
    response = rest(url, "/services/data/v63.0/query", token(url), q=soql)
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code and "ERROR at Row:1:Column:" in error["message"]


def test_organization_and_unknown_api_version(url):
    access_token = token(url)
    org = rest(url, "/services/data/v63.0/query", access_token, q="SELECT Id, Name, InstanceName FROM Organization")
    assert org.json()["records"][0]["Id"].startswith(ORG_15)
    certificates = rest(url, "/services/data/v63.0/tooling/query", access_token,
                        q="SELECT Id, DeveloperName FROM Certificate WHERE DeveloperName = 'SelfSignedCert_01Jan2026'")
    assert certificates.json()["records"][0]["Id"].startswith("0P1")
    assert rest(url, "/services/data/v99.0/limits", access_token).status_code == 404


# --- Metadata API -------------------------------------------------------------------------------------------------


def test_saml_sso_config_create_read_update_round_trip(url):
    access_token = token(url)
    status, root = save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert status == 200
    [result] = results(root)
    assert result.findtext(MD + "success") == "true" and result.findtext(MD + "fullName") == "authentik"

    record = read(url, access_token, "SamlSsoConfig", "authentik")
    tags = [child.tag[len(MD):] for child in record]
    assert tags == [name for name in SAML_ORDER if name in tags]  # WSDL sequence order
    assert record.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "SamlSsoConfig"
    assert record.findtext(MD + "salesforceLoginUrl") == "%s?so=%s" % (url, ORG_15)
    assert record.findtext(MD + "validationCert") == IDP_CERT_B64
    assert record.findtext(MD + "userProvisioning") == "true"

    status, root = save(url, access_token, "updateMetadata",
                        metadata("SamlSsoConfig", *saml_fields(issuer="https://idp.example.org")))
    assert results(root)[0].findtext(MD + "success") == "true"
    assert read(url, access_token, "SamlSsoConfig", "authentik").findtext(MD + "issuer") == "https://idp.example.org"
    status, root = save(url, access_token, "upsertMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert results(root)[0].findtext(MD + "created") == "false"
    rows = rest(url, "/services/data/v63.0/query", access_token,
                q="SELECT DeveloperName, Issuer FROM SamlSsoConfig").json()["records"]
    assert [(r["DeveloperName"], r["Issuer"]) for r in rows] == [("authentik", "https://authentik.example.com")]


def test_metadata_bodies_are_checked_against_the_wsdl(url):
    access_token = token(url)
    fields = saml_fields()
    swapped = [fields[0], fields[3], fields[1], fields[2]] + fields[4:]  # issuer before identityLocation
    status, root = save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *swapped))
    assert status == 500
    assert fault_of(root) == ("soapenv:Client", "Element {http://soap.sforce.com/2006/04/metadata}identityLocation "
                              "invalid at this location in type SamlSsoConfig")
    wrong_type = metadata("SamlSsoConfig", *fields).replace("met:SamlSsoConfig", "met:SecuritySettings")
    assert save(url, access_token, "createMetadata", wrong_type)[0] == 500
    unknown_type = metadata("SamlSsoConfig", *fields).replace("met:SamlSsoConfig", "met:SamlConfigDoesNotExist")
    assert "Unable to find type" in fault_of(save(url, access_token, "createMetadata", unknown_type)[1])[1]
    untyped = metadata("SamlSsoConfig", *fields).replace(' xsi:type="met:SamlSsoConfig"', "")
    assert save(url, access_token, "createMetadata", untyped)[0] == 500
    bad_enum = metadata("SamlSsoConfig", *saml_fields(identityMapping="Email"))
    assert "not a valid value for the enum 'SamlIdentityType'" in fault_of(
        save(url, access_token, "createMetadata", bad_enum)[1])[1]
    bad_boolean = metadata("SamlSsoConfig", *saml_fields(redirectBinding="yes"))
    assert save(url, access_token, "createMetadata", bad_boolean)[0] == 500
    # None of those reached the org.
    assert read(url, access_token, "SamlSsoConfig", "authentik").find(MD + "fullName") is None
    # Missing required elements are a per-component error, not a fault.
    status, root = save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields(issuer=None)))
    [result] = results(root)
    assert status == 200 and result.findtext(MD + "success") == "false"
    assert result.find(MD + "errors").findtext(MD + "statusCode") == "REQUIRED_FIELD_MISSING"
    assert result.find(MD + "errors").findtext(MD + "fields") == "issuer"


def test_saml_sso_config_rules(url):
    access_token = token(url)
    pem = metadata("SamlSsoConfig", *saml_fields(validationCert=IDP_CERT.public_bytes(
        serialization.Encoding.PEM).decode()))
    jit_username = metadata("SamlSsoConfig", *saml_fields(identityMapping="Username"))
    for body, code in ((pem, "FIELD_INTEGRITY_EXCEPTION"), (jit_username, "FIELD_INTEGRITY_EXCEPTION")):
        status, root = save(url, access_token, "createMetadata", body)
        [result] = results(root)
        assert result.findtext(MD + "success") == "false"
        assert result.find(MD + "errors").findtext(MD + "statusCode") == code
    # The numeric request signature method that deploy scripts send reads back as the documented name.
    save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields(requestSignatureMethod="1")))
    assert read(url, access_token, "SamlSsoConfig", "authentik").findtext(
        MD + "requestSignatureMethod") == "RSA-SHA256"


def test_security_settings_write_merges_only_the_blocks_sent(url):
    access_token = token(url)
    before = read(url, access_token, "SecuritySettings", "Security")
    body = ('<met:metadata xsi:type="met:SecuritySettings"><met:fullName>Security</met:fullName>'
            "<met:singleSignOnSettings><met:enableSamlLogin>true</met:enableSamlLogin></met:singleSignOnSettings>"
            "</met:metadata>")
    status, root = save(url, access_token, "updateMetadata", body)
    assert status == 200 and results(root)[0].findtext(MD + "success") == "true"
    after = read(url, access_token, "SecuritySettings", "Security")
    sso = after.find(MD + "singleSignOnSettings")
    assert sso.findtext(MD + "enableSamlLogin") == "true"
    assert sso.findtext(MD + "enableMultipleSamlConfigs") == "true"  # untouched field of the same block
    for block in ("sessionSettings", "passwordPolicies", "networkAccess"):
        assert ET.tostring(after.find(MD + block)) == ET.tostring(before.find(MD + block))
    writes = requests.get(url + "/_sandbox/state", timeout=TIMEOUT).json()["settings_writes"]
    assert [w["blocks"] for w in writes] == [["singleSignOnSettings"]]
    # Settings can't be created (they always exist), and multiple SAML configs can't be switched off.
    status, root = save(url, access_token, "createMetadata", body)
    assert results(root)[0].find(MD + "errors").findtext(MD + "statusCode") == "DUPLICATE_VALUE"
    off = body.replace("<met:enableSamlLogin>true</met:enableSamlLogin>",
                       "<met:enableMultipleSamlConfigs>false</met:enableMultipleSamlConfigs>")
    assert results(save(url, access_token, "updateMetadata", off)[1])[0].findtext(MD + "success") == "false"


def test_delete_then_read_returns_an_empty_record(url):
    access_token = token(url)
    save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields()))
    status, root = soap(url, access_token, "<met:deleteMetadata><met:type>SamlSsoConfig</met:type>"
                        "<met:fullNames>authentik</met:fullNames></met:deleteMetadata>")
    assert status == 200 and results(root)[0].findtext(MD + "success") == "true"
    record = read(url, access_token, "SamlSsoConfig", "authentik")
    assert record is not None and record.find(MD + "fullName") is None
    status, root = soap(url, access_token, "<met:deleteMetadata><met:type>SamlSsoConfig</met:type>"
                        "<met:fullNames>authentik</met:fullNames></met:deleteMetadata>")
    error = results(root)[0].find(MD + "errors")
    assert error.findtext(MD + "statusCode") == "INVALID_CROSS_REFERENCE_KEY"


def test_external_client_app_creation_order_and_login(url):
    access_token = token(url)

    def upsert(type_name, *fields):
        status, root = save(url, access_token, "upsertMetadata", metadata(type_name, *fields))
        assert status == 200, ET.tostring(root)
        return results(root)[0]

    app = ("externalClientApplication", "authentik")
    early = upsert("ExtlClntAppGlobalOauthSettings", ("fullName", "authentik_glbloauth"), ("callbackUrl", "x"), app)
    assert early.findtext(MD + "success") == "false"  # there is no header yet
    assert upsert("ExternalClientApplication", ("fullName", "authentik"), ("contactEmail", "a@example.com"),
                  ("distributionState", "Local"), ("label", "authentik")).findtext(MD + "created") == "true"
    assert upsert("ExtlClntAppConfigurablePolicies", ("fullName", "authentik_plcy"), app, ("isEnabled", "true"),
                  ("isOauthPluginEnabled", "true")).findtext(MD + "success") == "true"
    assert upsert("ExtlClntAppGlobalOauthSettings", ("fullName", "authentik_glbloauth"), ("callbackUrl", "x"),
                  app).findtext(MD + "success") == "false"  # the OAuth settings come first
    misordered = metadata("ExtlClntAppOauthSettings", ("commaSeparatedOauthScopes", "Api, OpenID"), app,
                          ("fullName", "authentik_oauth"))
    # fullName (inherited from Metadata) must come first
    assert save(url, access_token, "upsertMetadata", misordered)[0] == 500
    assert upsert("ExtlClntAppOauthSettings", ("fullName", "authentik_oauth"),
                  ("commaSeparatedOauthScopes", "Api, OpenID"), app).findtext(MD + "success") == "true"
    assert upsert("ExtlClntAppGlobalOauthSettings", ("fullName", "authentik_glbloauth"),
                  ("callbackUrl", "https://authentik.example.com/source/oauth/callback/salesforce/"), app,
                  ("isClientCredentialsFlowEnabled", "true"), ("isPkceRequired", "true"),
                  ("shouldRotateConsumerKey", "false")).findtext(MD + "success") == "true"
    assert upsert("ExtlClntAppOauthConfigurablePolicies", ("fullName", "authentik_oauthPlcy"),
                  ("clientCredentialsFlowUser", USERNAME), app, ("isClientCredentialsFlowEnabled", "true"),
                  ("permittedUsersPolicyType", "AdminApprovedPreAuthorized")).findtext(MD + "success") == "true"

    record = read(url, access_token, "ExtlClntAppGlobalOauthSettings", "authentik_glbloauth")
    consumer_key = record.findtext(MD + "consumerKey")
    assert consumer_key.startswith("3MVG9") and record.find(MD + "consumerSecret") is None
    requests.post(url + "/_sandbox/config", json={"consumer_secret_readable": True}, timeout=TIMEOUT)
    secret = read(url, access_token, "ExtlClntAppGlobalOauthSettings", "authentik_glbloauth").findtext(
        MD + "consumerSecret")
    login = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": consumer_key, "client_secret": secret})
    assert login.status_code == 200 and login.json()["scope"] == "api openid"

    status, root = soap(url, access_token, "<met:deleteMetadata><met:type>ExternalClientApplication</met:type>"
                        "<met:fullNames>authentik</met:fullNames></met:deleteMetadata>")
    assert results(root)[0].find(MD + "errors").findtext(MD + "statusCode") == "DEPENDENCY_EXISTS"


# --- sessions, limits, faults, log --------------------------------------------------------------------------------


def test_expired_session_gives_invalid_session_id(url):
    access_token = token(url)
    assert rest(url, "/services/data/v63.0/limits", access_token).status_code == 200
    assert requests.post(url + "/_sandbox/expire_tokens", json={}, timeout=TIMEOUT).json()["expired"] == 1
    response = rest(url, "/services/data/v63.0/limits", access_token)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    status, root = soap(url, access_token, "<met:readMetadata><met:type>SamlSsoConfig</met:type>"
                        "<met:fullNames>authentik</met:fullNames></met:readMetadata>")
    assert status == 500 and fault_of(root)[0] == "sf:INVALID_SESSION_ID"
    assert root.find(".//{http://soap.sforce.com/2006/04/metadata}exceptionCode").text == "INVALID_SESSION_ID"


def test_injected_invalid_session_expires_the_token_at_that_call(url):
    access_token = token(url)
    requests.post(url + "/_sandbox/faults", json={"api": "soap", "operation": "readMetadata",
                                                  "kind": "INVALID_SESSION_ID"}, timeout=TIMEOUT)
    status, root = soap(url, access_token, "<met:readMetadata><met:type>SamlSsoConfig</met:type>"
                        "<met:fullNames>x</met:fullNames></met:readMetadata>")
    assert status == 500 and fault_of(root)[0] == "sf:INVALID_SESSION_ID"
    assert rest(url, "/services/data/v63.0/limits", access_token).status_code == 401  # the session stays expired
    assert rest(url, "/services/data/v63.0/limits", token(url)).status_code == 200


def test_concurrent_limit_fault_hits_once(url):
    access_token = token(url)
    requests.post(url + "/_sandbox/faults", json={"api": "soap", "operation": "upsertMetadata",
                                                  "kind": "concurrent_limit", "times": 1}, timeout=TIMEOUT)
    status, root = save(url, access_token, "upsertMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert status == 500
    assert fault_of(root) == ("sf:REQUEST_LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent "
                              "API Requests) Limit exceeded.")
    status, root = save(url, access_token, "upsertMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert status == 200 and results(root)[0].findtext(MD + "created") == "true"
    requests.post(url + "/_sandbox/faults", json={"api": "rest", "kind": "concurrent_limit"}, timeout=TIMEOUT)
    response = rest(url, "/services/data/v63.0/limits", access_token)
    assert response.status_code == 403 and response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_status_faults_and_dropped_connections(url):
    access_token = token(url)
    requests.post(url + "/_sandbox/faults", timeout=TIMEOUT, json=[
        {"path": "/limits$", "status": 503, "retry_after": 2},
        {"path": "/query$", "drop": True},
    ])
    response = rest(url, "/services/data/v63.0/limits", access_token)
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    with pytest.raises(requests.ConnectionError):
        rest(url, "/services/data/v63.0/query", access_token, q="SELECT Id FROM User")
    assert rest(url, "/services/data/v63.0/limits", access_token).status_code == 200
    assert requests.get(url + "/_sandbox/faults", timeout=TIMEOUT).json() == []


def test_daily_limit(url):
    access_token = token(url)
    requests.post(url + "/_sandbox/config", json={"daily_api_limit": 2}, timeout=TIMEOUT)
    assert rest(url, "/services/data/v63.0/limits", access_token).json()["DailyApiRequests"] == {
        "Max": 2, "Remaining": 1}
    assert rest(url, "/services/data/v63.0/limits", access_token).status_code == 200
    response = rest(url, "/services/data/v63.0/limits", access_token)
    assert response.status_code == 403
    assert response.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    status, root = soap(url, access_token, "<met:readMetadata><met:type>SamlSsoConfig</met:type>"
                        "<met:fullNames>x</met:fullNames></met:readMetadata>")
    assert status == 500 and fault_of(root)[0] == "sf:REQUEST_LIMIT_EXCEEDED"


def test_request_log(url):
    access_token = token(url)
    requests.get(url + "/_sandbox/state", timeout=TIMEOUT)  # control calls are not logged
    rest(url, "/services/data/v63.0/query", access_token, q="SELECT Id FROM Profile LIMIT 1")
    save(url, access_token, "upsertMetadata", metadata("SamlSsoConfig", *saml_fields()))
    read(url, access_token, "SamlSsoConfig", "authentik")
    log = requests.get(url + "/_sandbox/requests", timeout=TIMEOUT).json()
    assert [(e["api"], e["operation"], e["write"]) for e in log] == [
        ("oauth", "token", False), ("rest", "query", False), ("soap", "upsertMetadata", True),
        ("soap", "readMetadata", False)]
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    assert log[1]["query"] == {"q": "SELECT Id FROM Profile LIMIT 1"} and log[1]["types"] == ["Profile"]
    assert log[2]["types"] == ["SamlSsoConfig"] and "<met:issuer>" in log[2]["body"] and log[2]["status"] == 200
    assert log[2]["user"] == USERNAME and log[0]["body"]["client_secret"] == "***"
    assert requests.delete(url + "/_sandbox/requests", timeout=TIMEOUT).status_code == 200
    assert requests.get(url + "/_sandbox/requests", timeout=TIMEOUT).json() == []


# --- the check-mode write guard ----------------------------------------------------------------------------------

def guard(url, method="GET", body=None):
    response = requests.request(method, url + "/_sandbox/guard", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def test_check_mode_guard_refuses_and_records_every_kind_of_write(url):
    assert guard(url) == {"writes": "allow", "violations": []}
    assert guard(url, "POST", {"writes": "forbid"}) == {"writes": "forbid", "violations": []}
    access_token = token(url)  # the OAuth token POST is no write
    reads = ["<met:listMetadata><met:queries><met:type>SamlSsoConfig</met:type></met:queries>"
             "<met:asOfVersion>63.0</met:asOfVersion></met:listMetadata>",
             "<met:describeMetadata><met:asOfVersion>63.0</met:asOfVersion></met:describeMetadata>"]
    for call in reads:
        assert soap(url, access_token, call)[0] == 200
    assert read(url, access_token, "SamlSsoConfig", "authentik").find(MD + "fullName") is None
    assert rest(url, "/services/data/v63.0/limits", access_token).status_code == 200
    status, root = save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert status == 500 and fault_of(root) == (
        "sf:CHECK_MODE_WRITE", "CHECK_MODE_WRITE: sandbox check-mode guard: createMetadata SamlSsoConfig is a write, "
        "and the run is in check mode (writes are forbidden)")
    status, root = soap(url, access_token, "<met:deploy><met:ZipFile>UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==</met:ZipFile>"
                                           "</met:deploy>")
    assert status == 500 and fault_of(root)[0] == "sf:CHECK_MODE_WRITE"  # not implemented, yet refused as a write
    headers = {"Authorization": "Bearer " + access_token}
    scim = requests.post(url + "/services/scim/v2/Users", json={"userName": "x@example.com"}, headers=headers,
                         timeout=TIMEOUT)
    assert scim.status_code == 403 and "check-mode guard" in scim.json()["detail"]
    patch = requests.patch(url + "/services/data/v63.0/sobjects/User/005000000000001", json={}, headers=headers,
                           timeout=TIMEOUT)
    assert patch.status_code == 403 and patch.json()[0]["errorCode"] == "CHECK_MODE_WRITE"
    # Nothing was applied, and each refused write is a violation and a log entry.
    assert not requests.get(url + "/_sandbox/state", timeout=TIMEOUT).json()["metadata"].get("SamlSsoConfig")
    violations = guard(url)["violations"]
    assert [(v["api"], v["operation"], v["types"]) for v in violations] == [
        ("soap", "createMetadata", ["SamlSsoConfig"]), ("soap", "deploy", []), ("scim", "createUsers", ["Users"]),
        ("rest", "sobject", ["User"])]
    log = requests.get(url + "/_sandbox/requests", timeout=TIMEOUT).json()
    assert [e["seq"] for e in log if e["fault"] == "guard"] == [v["seq"] for v in violations]
    # Allowed again: a write goes through; the violations stay until the guard is cleared or the sandbox reset.
    assert guard(url, "POST", {"writes": "allow"})["writes"] == "allow"
    status, root = save(url, access_token, "createMetadata", metadata("SamlSsoConfig", *saml_fields()))
    assert status == 200 and results(root)[0].findtext(MD + "success") == "true"
    assert len(guard(url)["violations"]) == 4
    assert guard(url, "DELETE") == {"cleared": True}
    assert guard(url) == {"writes": "allow", "violations": []}
    guard(url, "POST", {"writes": "forbid"})
    delete = "<met:type>SamlSsoConfig</met:type><met:fullNames>authentik</met:fullNames>"
    assert save(url, access_token, "deleteMetadata", delete)[0] == 500
    assert requests.post(url + "/_sandbox/reset", timeout=TIMEOUT).status_code == 200
    assert guard(url) == {"writes": "allow", "violations": []}


@pytest.mark.parametrize("body", [{}, {"writes": "maybe"}, {"writes": "forbid", "other": 1}, ["forbid"]])
def test_check_mode_guard_settings_are_checked(url, body):
    response = requests.post(url + "/_sandbox/guard", json=body, timeout=TIMEOUT)
    assert response.status_code == 400 and "forbid" in response.json()["error"]
    assert guard(url) == {"writes": "allow", "violations": []}


def test_a_wsdl_generated_client_interoperates(tmp_path, monkeypatch):
    """simple-salesforce's zeep client, built from the same WSDL, talks to the sandbox over HTTPS."""
    from simple_salesforce import Salesforce

    files = certificates.tls_files(tmp_path)
    server = sandboxes.start_or_fail(sandboxes.salesforce_server(tmp_path, CONFIG, tls=files))
    port = server.url.rsplit(":", 1)[1]
    try:
        # zeep makes its own requests session: trust the sandbox's certificate through the environment.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(files["ca"]))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        session = requests.Session()
        url = "https://127.0.0.1:" + port
        access_token = session.post(url + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        }).json()["access_token"]
        mdapi = Salesforce(instance="127.0.0.1:" + port, session_id=access_token, version="63.0",
                           session=session).mdapi
        config = mdapi.SamlSsoConfig(
            fullName="authentik", identityLocation="SubjectNameId", identityMapping="FederationId",
            issuer="https://authentik.example.com", name="authentik", samlEntityId="https://acme.my.salesforce.com",
            samlVersion="SAML2_0", userProvisioning=True, redirectBinding=False, validationCert=IDP_CERT_B64)
        mdapi.SamlSsoConfig.create(config)  # raises on success=false or a fault
        record = mdapi.SamlSsoConfig.read("authentik")
        assert record.salesforceLoginUrl == "%s?so=%s" % (url, ORG_15) and record.userProvisioning is True
        assert mdapi.SamlSsoConfig.read("missing").fullName is None
        mdapi.SecuritySettings.update(mdapi.SecuritySettings(
            fullName="Security", singleSignOnSettings=mdapi.SingleSignOnSettings(enableSamlLogin=True)))
        assert mdapi.SecuritySettings.read("Security").singleSignOnSettings.enableSamlLogin is True
        mdapi.SamlSsoConfig.delete("authentik")
        with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
            mdapi.SamlSsoConfig.delete("authentik")
    finally:
        server.stop()


# --- SCIM -------------------------------------------------------------------------------------------------------


def test_scim_users(url):
    headers = {"Authorization": "Bearer " + token(url)}
    scim = url + "/services/scim/v2"
    profile_id = rest(url, "/services/data/v63.0/query", headers["Authorization"][7:],
                      q="SELECT Id FROM Profile WHERE Name = 'Standard User'").json()["records"][0]["Id"]
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jane@example.com",
            "name": {"familyName": "Doe", "givenName": "Jane"}, "externalId": "jane@example.com",
            "emails": [{"type": "work", "primary": True, "value": "jane@example.com"}]}
    missing = requests.post(scim + "/Users", json=user, headers=headers, timeout=TIMEOUT)
    assert missing.status_code == 409 and "user_must_have_one_entitlement" in missing.json()["detail"]
    user["entitlements"] = [{"value": profile_id}]
    created = requests.post(scim + "/Users", json=user, headers=headers, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    found = requests.get(scim + "/Users", params={"filter": 'userName eq "jane@example.com"'}, headers=headers,
                         timeout=TIMEOUT).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "name.familyName", "value": "Roe"}]}
    patched = requests.patch(scim + "/Users/" + user_id, json=patch, headers=headers, timeout=TIMEOUT)
    assert patched.json()["name"]["familyName"] == "Roe"
    assert requests.delete(scim + "/Users/" + user_id, headers=headers, timeout=TIMEOUT).status_code == 204
    assert requests.get(scim + "/Users/" + user_id, headers=headers, timeout=TIMEOUT).json()["active"] is False
    assert requests.get(scim + "/Users", timeout=TIMEOUT).status_code == 401
    assert requests.get(scim + "/ServiceProviderConfigs", headers=headers, timeout=TIMEOUT).json()["patch"]["supported"]


# --- redirect faults, pending requests ---------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_fault(url, status):
    location = "https://127.0.0.2:9/services/oauth2/token"
    rule = requests.post(url + "/_sandbox/faults", json={"api": "oauth", "operation": "token", "kind": "redirect",
                                                         "status": status, "location": location}, timeout=TIMEOUT)
    assert rule.status_code == 200 and rule.json()["location"] == location
    response = requests.post(url + "/services/oauth2/token", timeout=TIMEOUT, allow_redirects=False, data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert response.status_code == status and response.headers["Location"] == location
    assert response.headers["Content-Type"] == "text/html" and str(status) in response.text
    # No login happened: the redirect is the whole answer.
    assert requests.get(url + "/_sandbox/state", timeout=TIMEOUT).json()["counters"]["logins"] == 0
    entry, = requests.get(url + "/_sandbox/requests", timeout=TIMEOUT).json()
    assert (entry["operation"], entry["status"], entry["fault"]) == ("token", status, "redirect")


def test_redirect_fault_on_a_soap_call_to_a_path(url):
    access_token = token(url)
    requests.post(url + "/_sandbox/faults", json={"api": "soap", "kind": "redirect", "status": 308,
                                                  "location": "/services/Soap/m/63.0"}, timeout=TIMEOUT)
    call = "<met:readMetadata><met:type>SamlSsoConfig</met:type><met:fullNames>x</met:fullNames></met:readMetadata>"
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader>'
        "<met:sessionId>%s</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>%s</soapenv:Body>"
        "</soapenv:Envelope>" % (access_token, call))
    response = requests.post(url + "/services/Soap/m/63.0", timeout=TIMEOUT, allow_redirects=False,
                             data=envelope.encode(), headers={"Content-Type": "text/xml", "SOAPAction": '""'})
    assert response.status_code == 308 and response.headers["Location"] == "/services/Soap/m/63.0"
    assert soap(url, access_token, call)[0] == 200  # the rule fired once
    log = requests.get(url + "/_sandbox/requests", params={"api": "soap"}, timeout=TIMEOUT).json()
    assert [(e["operation"], e["status"], e["fault"]) for e in log] == [
        ("readMetadata", 308, "redirect"), ("readMetadata", 200, None)]


@pytest.mark.parametrize("rule, problem", [
    ({"kind": "redirect", "status": 307}, "needs a location"),
    ({"kind": "redirect", "location": "http://127.0.0.2/"}, "needs a status"),
    ({"kind": "redirect", "status": 200, "location": "/x"}, "needs a status"),
    ({"kind": "redirect", "status": 500, "location": "/x"}, "needs a status"),
    ({"kind": "redirect", "status": 307, "location": "ftp://127.0.0.2/x"}, "absolute http(s) URL"),
    ({"kind": "redirect", "status": 307, "location": "elsewhere"}, "absolute http(s) URL"),
    ({"kind": "redirect", "status": 307, "location": "/x\r\nSet-Cookie: a=b"}, "needs a location"),
    ({"kind": "redirect", "status": 307, "location": "/x", "drop": True}, "cannot drop"),
    ({"status": 302}, "status is one of"),
    ({"status": 503, "location": "/x"}, "location goes with kind redirect"),
    ({"kind": "moved", "status": 307, "location": "/x"}, "kind is one of"),
    ({"kind": "redirect", "status": 307, "location": "/x", "headers": {}}, "unknown keys: headers"),
])
def test_redirect_rules_are_checked(url, rule, problem):
    response = requests.post(url + "/_sandbox/faults", json=rule, timeout=TIMEOUT)
    assert response.status_code == 400 and problem in response.json()["error"], response.text
    assert requests.get(url + "/_sandbox/faults", timeout=TIMEOUT).json() == []


def test_pending_lists_a_request_until_it_is_answered(url):
    import threading

    def control(route):
        return requests.get(url + "/_sandbox/" + route, timeout=TIMEOUT).json()

    access_token = token(url)
    requests.post(url + "/_sandbox/faults", json={"api": "rest", "operation": "limits", "delay": 1.0},
                  timeout=TIMEOUT)
    assert control("pending") == []
    answered = []
    client = threading.Thread(target=lambda: answered.append(
        rest(url, "/services/data/v63.0/limits", access_token).status_code))
    client.start()
    try:
        pending = waits.wait_until(lambda: control("pending"), "pending")
        assert [(e["api"], e["operation"]) for e in pending] == [("rest", "limits")]
        # An entry enters the log once its request is answered.
        assert [e["operation"] for e in control("requests")] == ["token"]
        log = waits.settled_requests(control)
        assert [(e["operation"], e["status"], e["fault"]) for e in log] == [
            ("token", 200, None), ("limits", 200, "delay")]
    finally:
        client.join(TIMEOUT)
    assert answered == [200]
