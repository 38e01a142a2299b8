# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XML of the Metadata API (SOAP), without the calls (those are ``_salesforce_metadata.MetadataClient``).

- ``METADATA_FIELDS``: the element order and value kinds of the types the modules use, written by hand from the
  WSDL; ``metadata_field_order`` orders a component's keys as the type's xsd:sequence wants them.
- ``metadata_to_xml`` (a component dict -> XML) and ``xml_to_dict`` (XML -> a component dict), ``soap_envelope``.
- ``safe_xml`` / ``parse_xml`` read an answer, refusing document type declarations (entity bombs);
  ``soap_fault_of`` / ``parse_soap_fault`` read a SOAP fault; element helpers matched by local names.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from xml.sax.saxutils import escape

from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError

SOAPENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"


# -- the types and their field order ------------------------------------------------------------------------------

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


# -- components to XML and back -----------------------------------------------------------------------------------

def check_name(value, what):
    """A type or field name goes into a tag: a letter, then letters, digits and underscores."""
    if not isinstance(value, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", value):
        raise SalesforceError(f"Invalid Metadata API {what}: {value!r}")


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
        check_name(name, "field name")
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
        return xml_to_dict(element, kind)
    return element.text or ""


def xml_to_dict(element, type_name):
    """A component (or nested element) as a dict: values typed by the field table, repeated elements as lists."""
    fields = METADATA_FIELDS.get(type_name, {})
    result = {}
    for child in element:
        name = local_name(child.tag)
        kind, repeated = fields.get(name, ("str", False))
        value = _xml_to_value(child, kind)
        if name in result:
            if not isinstance(result[name], list):
                result[name] = [result[name]]
            result[name].append(value)
        else:
            result[name] = [value] if repeated else value
    return result


# -- the envelope, and reading answers ----------------------------------------------------------------------------

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


def local_name(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element, name):
    return [child for child in element if local_name(child.tag) == name]


def child_text(element, name):
    for child in element:
        if local_name(child.tag) == name:
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


def parse_xml(content, what):
    """``safe_xml``, failing with a sentence that names the call."""
    try:
        return safe_xml(content)
    except ValueError as exc:
        raise SalesforceError(f"{what}: the response cannot be read: {exc}") from None


def parse_soap_fault(content):
    """(code, message, []) of a SOAP fault, matched by local names (the ``sf:`` namespace differs per API)."""
    try:
        root = safe_xml(content)
    except ValueError:
        return None
    return soap_fault_of(root)


def soap_fault_of(root):
    """(code, message, []) of the SOAP fault in a parsed answer, or None."""
    fault = next((el for el in root.iter() if local_name(el.tag) == "Fault"), None)
    if fault is None:
        return None
    faultcode = (child_text(fault, "faultcode") or "").strip()
    faultstring = (child_text(fault, "faultstring") or "").strip()
    exception_code = next((el.text for el in fault.iter() if local_name(el.tag) == "exceptionCode" and el.text), None)
    exception_message = next((el.text for el in fault.iter() if local_name(el.tag) == "exceptionMessage" and el.text),
                             None)
    code = (exception_code or faultcode.rsplit(":", 1)[-1] or None)
    return code, (exception_message or faultstring or faultcode or "SOAP fault").strip(), []
