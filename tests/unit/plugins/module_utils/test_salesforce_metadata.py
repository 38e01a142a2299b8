# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Metadata API client (_salesforce_metadata.py): calls, results and faults, with a fake transport (no server)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_soap import metadata_to_xml
from salesforce_fakes import INSTANCE, MET, TOKEN, XSI, fixture, jwt_login, metadata_client, response, token_response


# ---------------------------------------------------------------------------------------------------------------
# Calls and responses
# ---------------------------------------------------------------------------------------------------------------

def test_read_request_and_parsed_record():
    client, http = metadata_client(response(200, fixture("read_saml_sso_config.xml")))
    record = client.read("SamlSsoConfig", "authentik")
    method, url, kwargs = http.calls[0]
    assert (method, url) == ("POST", INSTANCE + "/services/Soap/m/63.0")
    assert kwargs["headers"]["Content-Type"] == "text/xml; charset=UTF-8"
    assert kwargs["headers"]["SOAPAction"] == "readMetadata"
    assert "Authorization" not in kwargs["headers"]
    body = ET.fromstring(kwargs["data"])
    assert body.find(f".//{MET}sessionId").text == TOKEN
    read = body.find(f".//{MET}readMetadata")
    assert [(el.tag.replace(MET, ""), el.text) for el in read] == [
        ("type", "SamlSsoConfig"), ("fullNames", "authentik")]
    assert record["fullName"] == "authentik" and record["identityMapping"] == "FederationId"
    assert record["redirectBinding"] is False and record["userProvisioning"] is True
    assert record["requestSignatureMethod"] == "1"
    assert record["salesforceLoginUrl"] == "https://acme.my.salesforce.com?so=00Df40000003eOA"


def test_read_missing_is_none():
    client = metadata_client(response(200, fixture("read_missing.xml")))[0]
    assert client.read("SamlSsoConfig", "nope") is None


def test_read_several_aligned_with_names():
    client, http = metadata_client(response(200, fixture("read_two_one_missing.xml")))
    missing, found = client.read("ExtlClntAppGlobalOauthSettings", ["Gone_glbloauth", "Authentik_glbloauth"])
    assert missing is None
    assert found["consumerKey"] == "3MVG9abcDEF" and found["isPkceRequired"] is True
    assert found["idTokenConfig"] == {"idTokenIncludeStandardClaims": True, "idTokenValidityInMinutes": 2}
    assert len(ET.fromstring(http.calls[0][2]["data"]).findall(f".//{MET}fullNames")) == 2


def test_read_security_settings_nested_blocks():
    client = metadata_client(response(200, fixture("read_security_settings.xml")))[0]
    record = client.read("SecuritySettings", "Security")
    assert record["singleSignOnSettings"]["enableMultipleSamlConfigs"] is True
    assert record["singleSignOnSettings"]["enableSamlLogin"] is False
    assert record["networkAccess"] == {"ipRanges": {"end": "10.0.0.255", "start": "10.0.0.1"}}
    # Round trip: what was read can be written back in the same order.
    xml = metadata_to_xml("SecuritySettings", record)
    assert xml.index("enableAdminLoginAsAnyUser") < xml.index("networkAccess") < xml.index("sessionSettings") < \
        xml.index("singleSignOnSettings")


def test_upsert_returns_created_flag():
    client, http = metadata_client(response(200, fixture("upsert_created.xml")))
    results = client.upsert("SamlSsoConfig", {"fullName": "authentik", "name": "authentik"})
    assert results == [{"fullName": "authentik", "success": True, "created": True, "errors": []}]
    assert http.calls[0][2]["headers"]["SOAPAction"] == "upsertMetadata"
    metadata = ET.fromstring(http.calls[0][2]["data"]).find(f".//{MET}upsertMetadata/{MET}metadata")
    assert metadata.get(f"{XSI}type") == "met:SamlSsoConfig"


def test_per_item_errors_raise():
    client = metadata_client(response(200, fixture("create_duplicate.xml")))[0]
    with pytest.raises(SalesforceError) as info:
        client.create("SamlSsoConfig", [{"fullName": "authentik"}])
    assert info.value.message == ("Metadata API createMetadata failed for SamlSsoConfig 'authentik': "
                                  "DUPLICATE_VALUE: duplicate value found")
    assert info.value.code == "DUPLICATE_VALUE"

    client = metadata_client(response(200, fixture("update_field_error.xml")))[0]
    with pytest.raises(SalesforceError, match=r"FIELD_INTEGRITY_EXCEPTION: Just-in-time provisioning requires "
                                              r"the Federation ID identity type \(fields: userProvisioning, "
                                              r"identityMapping\)"):
        client.update("SamlSsoConfig", [{"fullName": "authentik"}])


def test_delete():
    client, http = metadata_client(response(200, fixture("delete_ok.xml")))
    assert client.delete("SamlSsoConfig", "authentik")[0]["success"] is True
    delete = ET.fromstring(http.calls[0][2]["data"]).find(f".//{MET}deleteMetadata")
    assert [el.text for el in delete] == ["SamlSsoConfig", "authentik"]


@pytest.mark.parametrize("call", [
    lambda c: c.read("SamlSsoConfig", []),
    lambda c: c.read("SamlSsoConfig", [f"n{i}" for i in range(11)]),
    lambda c: c.read("Bad Type", "x"),
    lambda c: c.upsert("SamlSsoConfig", [{"name": "no fullName"}]),
    lambda c: c.delete("SamlSsoConfig", [""]),
])
def test_metadata_input_checked_before_sending(call):
    client, http = metadata_client()
    with pytest.raises(SalesforceError):
        call(client)
    assert http.calls == []


def test_soap_invalid_session_relogs_in_with_a_new_envelope(rsa_pem):
    client, http = metadata_client(token_response("00D!first"), response(500, fixture("fault_invalid_session.xml")),
                                   token_response("00D!second"), response(200, fixture("delete_ok.xml")),
                                   login=jwt_login(rsa_pem))
    client.delete("SamlSsoConfig", "authentik")
    assert "<met:sessionId>00D!first</met:sessionId>" in http.calls[1][2]["data"].decode()
    assert "<met:sessionId>00D!second</met:sessionId>" in http.calls[3][2]["data"].decode()


def test_soap_invalid_session_with_given_token():
    client, http = metadata_client(response(500, fixture("fault_invalid_session.xml")))
    with pytest.raises(SalesforceError, match="Metadata API readMetadata .* rejected the access token"):
        client.read("SamlSsoConfig", "authentik")
    assert len(http.calls) == 1


def test_soap_daily_limit_not_retried(sleeps):
    client, http = metadata_client(response(500, fixture("fault_total_requests.xml")), sleeps=sleeps)
    with pytest.raises(SalesforceError, match="daily API request limit is used up") as info:
        client.read("SamlSsoConfig", "authentik")
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED" and len(http.calls) == 1 and sleeps == []


def test_soap_concurrent_limit_retried(sleeps):
    client, http = metadata_client(response(500, fixture("fault_concurrent.xml")),
                                   response(200, fixture("upsert_created.xml")), sleeps=sleeps)
    client.upsert("SamlSsoConfig", {"fullName": "authentik"})
    assert len(http.calls) == 2 and len(sleeps) == 1


def test_soap_fault_is_a_sentence():
    client = metadata_client(response(500, fixture("fault_invalid_type.xml")))[0]
    with pytest.raises(SalesforceError) as info:
        client.read("ExternalClientApplication", "A")
    assert info.value.message == ("Metadata API readMetadata (POST /services/Soap/m/63.0) failed with HTTP 500 "
                                  "INVALID_TYPE: This type of metadata is not available for this organization")


def test_read_answer_with_a_nested_full_name():
    body = fixture("read_saml_sso_config.xml").replace(b"<fullName>authentik</fullName>",
                                                       b"<fullName><a>1</a></fullName>")
    assert metadata_client(response(200, body))[0].read("SamlSsoConfig", "authentik") is None
