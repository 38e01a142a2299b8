# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Metadata API's XML (_salesforce_soap.py): the field table against the WSDL, components to XML, the envelope,
and answers read safely."""

from __future__ import annotations

import importlib.util
import os
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_soap import (
    METADATA_FIELDS, SOAPENV_NS, metadata_field_order, metadata_to_xml, soap_envelope)
from salesforce_fakes import INSTANCE, MET, XSI, metadata_client, response


# ---------------------------------------------------------------------------------------------------------------
# Envelopes and the field order
# ---------------------------------------------------------------------------------------------------------------

def test_envelope_order_type_escaping_and_session_header():
    component = {  # deliberately out of order
        "validationCert": "MIIC", "userProvisioning": True, "samlVersion": "SAML2_0", "name": "authentik & <co>",
        "issuer": "https://idp.example/?a=1&b='2'", "identityMapping": "FederationId", "redirectBinding": False,
        "identityLocation": "SubjectNameId", "fullName": "authentik", "samlEntityId": INSTANCE, "errorUrl": None,
    }
    xml = soap_envelope("00D!tok<&>", "<met:upsertMetadata>" + metadata_to_xml("SamlSsoConfig", component)
                        + "</met:upsertMetadata>")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.encode())
    session_id = root.find(f"{{{SOAPENV_NS}}}Header/{MET}SessionHeader/{MET}sessionId")
    assert session_id.text == "00D!tok<&>"
    metadata = root.find(f"{{{SOAPENV_NS}}}Body/{MET}upsertMetadata/{MET}metadata")
    assert metadata.get(f"{XSI}type") == "met:SamlSsoConfig"
    assert [child.tag.replace(MET, "") for child in metadata] == [
        "fullName", "identityLocation", "identityMapping", "issuer", "name", "redirectBinding", "samlEntityId",
        "samlVersion", "userProvisioning", "validationCert"]
    values = {child.tag.replace(MET, ""): child.text for child in metadata}
    assert values["name"] == "authentik & <co>" and values["issuer"] == "https://idp.example/?a=1&b='2'"
    assert (values["redirectBinding"], values["userProvisioning"]) == ("false", "true")
    assert "&amp; &lt;co&gt;" in xml


def test_nested_and_repeated_values():
    xml = metadata_to_xml("SecuritySettings", {
        "singleSignOnSettings": {"enableSamlLogin": True, "enableCaseInsensitiveFederationID": False,
                                 "enableMultipleSamlConfigs": True},
        "fullName": "Security",
    })
    assert xml == ('<met:metadata xsi:type="met:SecuritySettings"><met:fullName>Security</met:fullName>'
                   "<met:singleSignOnSettings>"
                   "<met:enableCaseInsensitiveFederationID>false</met:enableCaseInsensitiveFederationID>"
                   "<met:enableMultipleSamlConfigs>true</met:enableMultipleSamlConfigs>"
                   "<met:enableSamlLogin>true</met:enableSamlLogin>"
                   "</met:singleSignOnSettings></met:metadata>")
    xml = metadata_to_xml("ExtlClntAppOauthSettings", {
        "fullName": "A_oauth", "trustedIpRanges": [{"startIpAddress": "10.0.0.1", "endIpAddress": "10.0.0.9"},
                                                   {"startIpAddress": "10.1.0.1", "endIpAddress": "10.1.0.9"}],
        "externalClientApplication": "A", "commaSeparatedOauthScopes": "Api, OpenID", "assetTokenValidity": 5})
    assert xml.index("assetTokenValidity>5<") < xml.index("commaSeparatedOauthScopes") < xml.index(
        "externalClientApplication") < xml.index("trustedIpRanges")
    assert xml.count("<met:trustedIpRanges>") == 2
    assert "<met:trustedIpRanges><met:endIpAddress>10.0.0.9</met:endIpAddress>" in xml


def test_fields_of_newer_api_versions_placed_alphabetically():
    order = metadata_field_order("ExtlClntAppConfigurablePolicies",
                                 ["startUrl", "isCanvasPluginEnabled", "isEnabled", "fullName", "label", "aaa"])
    assert order == ["fullName", "aaa", "isCanvasPluginEnabled", "isEnabled", "label", "startUrl"]
    assert metadata_field_order("UnknownType", ["b", "a"]) == ["b", "a"]


@pytest.mark.parametrize("bad", [{"fullName": "x", "bad name": 1}, {"fullName": "x", "label": object()}])
def test_bad_values_refused(bad):
    with pytest.raises(SalesforceError):
        metadata_to_xml("ExternalClientApplication", bad)


def _wsdl_sequences():
    spec = importlib.util.find_spec("simple_salesforce")
    assert spec is not None, "the test dependency simple-salesforce (tests/requirements.txt) is missing"
    path = os.path.join(os.path.dirname(spec.origin), "metadata.wsdl")
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    sequences = {}
    for complex_type in ET.parse(path).getroot().iter(f"{xsd}complexType"):
        name = complex_type.get("name")
        extension = complex_type.find(f"{xsd}complexContent/{xsd}extension")
        base = ["fullName"] if extension is not None and extension.get("base") == "tns:Metadata" else []
        sequence = complex_type.find(f".//{xsd}sequence")
        elements = [] if sequence is None else sequence.findall(f"{xsd}element")
        sequences[name] = base + [
            (el.get("name"), el.get("type"), el.get("maxOccurs") == "unbounded") for el in elements]
    return sequences


def test_field_table_matches_the_wsdl():
    """The hand-written order table against the WSDL that simple-salesforce bundles (Metadata API 63.0)."""
    sequences = _wsdl_sequences()
    kinds = {"xsd:boolean": "bool", "xsd:int": "int", "xsd:string": "str"}
    for type_name, fields in METADATA_FIELDS.items():
        wsdl = sequences[type_name]
        assert list(fields) == [entry if isinstance(entry, str) else entry[0] for entry in wsdl], type_name
        for entry in wsdl:
            if isinstance(entry, str):
                continue
            name, xsd_type, repeated = entry
            kind = fields[name][0]
            expected = kinds.get(xsd_type, xsd_type.split(":")[-1])
            if kind == "str":  # enumerations are strings to us
                assert expected == "str" or not sequences.get(expected), (type_name, name)
            else:
                assert kind == expected, (type_name, name)
            assert fields[name][1] == repeated, (type_name, name)


# ---------------------------------------------------------------------------------------------------------------
# Answers read safely
# ---------------------------------------------------------------------------------------------------------------

def test_invalid_xml_response():
    client = metadata_client(response(200, "<not xml"))[0]
    with pytest.raises(SalesforceError, match="the response cannot be read: it is not valid XML"):
        client.read("SamlSsoConfig", "authentik")


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><Envelope><Body>&lol3;</Body></Envelope>')


EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<Envelope><Body>&e;</Body></Envelope>')


@pytest.mark.parametrize("body, needle", [
    (BOMB, "declares a document type"), (EXTERNAL, "declares a document type"),
    (b'<?xml version="1.0"?><!DOCTYPE Envelope><Envelope/>', "declares a document type"),
    (BOMB.decode().encode("utf-16"), "declares a document type"),
    (b"<Envelope>\x00</Envelope>", "not valid XML"), (b"", "not valid XML"), (b"\xff\xfe<<", "not valid XML"),
    (b"<a>" * 5000, "not valid XML"),
])
def test_hostile_or_broken_xml_is_a_sentence(body, needle):
    client = metadata_client(response(200, body))[0]
    with pytest.raises(SalesforceError, match=needle):
        client.read("SamlSsoConfig", "authentik")


def test_soap_error_with_a_doctype_is_not_parsed():
    client = metadata_client(response(500, BOMB))[0]
    with pytest.raises(SalesforceError) as info:
        client.read("SamlSsoConfig", "authentik")
    assert "lollol" not in info.value.msg
