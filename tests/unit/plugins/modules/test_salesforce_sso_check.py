# -*- coding: utf-8 -*-
"""salesforce_sso_check's comparison, without servers: what counts as a mismatch, and what does not."""

from __future__ import annotations

import pytest
from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import to_18
from ansible_collections.sso.authentik.plugins.modules import salesforce_sso_check as check
from support.certificates import self_signed

PEM, _KEY = self_signed("idp")
OTHER, _OTHER_KEY = self_signed("someone else")
PROFILE_18 = to_18("00e5g000001AbCd")
SF_URL = "https://acme.my.salesforce.com"


def params(**extra):
    return dict({"jit_provisioning": "standard", "preview_user": None}, **extra)


def idp(**extra):
    provider = {"audience": SF_URL, "acs_url": SF_URL + "?so=00D5g000004Ab1C"}
    base = {"provider": provider, "signing_certificate": PEM, "issuer": "https://idp.test",
            "sso_url_post": "https://idp.test/application/saml/salesforce/sso/binding/post/"}
    base.update(extra)
    return base


def record(**extra):
    base = {"validationCert": crypto.pem_body(PEM), "issuer": "https://idp.test", "samlEntityId": SF_URL,
            "loginUrl": "https://idp.test/application/saml/salesforce/sso/binding/post/",
            "identityMapping": "FederationId", "userProvisioning": True}
    base.update(extra)
    return base


def mismatches(params_=None, idp_=None, record_=None, profile_id=None, expression=None):
    return check.compare(params_ or params(), idp_ or idp(), record_ or record(), SF_URL + "?so=00D5g000004Ab1C",
                         profile_id, expression)


def test_both_sides_agree_with_the_certificate_in_salesforces_form():
    assert mismatches(profile_id=PROFILE_18, expression='return "%s"' % PROFILE_18[:15]) == []


def test_a_certificate_mismatch_shows_both_fingerprints():
    found = mismatches(record_=record(validationCert=crypto.pem_body(OTHER)))
    assert found == [{"what": "signing certificate", "authentik": crypto.pem_fingerprint(PEM),
                      "salesforce": crypto.pem_fingerprint(OTHER)}]


def test_no_certificate_on_one_side_is_a_mismatch():
    found = mismatches(idp_=idp(signing_certificate=""))
    assert found == [{"what": "signing certificate", "authentik": "", "salesforce": crypto.pem_fingerprint(PEM)}]


@pytest.mark.parametrize("key, value, what", [
    ("issuer", "https://other.test", "issuer"),
    ("samlEntityId", "https://other.my.salesforce.com", "audience / entity ID"),
    ("loginUrl", "https://idp.test/elsewhere/", "SSO URL"),
    ("identityMapping", "Username", "identity type"),
    ("userProvisioning", False, "Just-in-Time provisioning"),
])
def test_each_field_that_differs_is_named_with_both_values(key, value, what):
    found = mismatches(record_=record(**{key: value}))
    assert [item["what"] for item in found] == [what]


def test_the_identity_type_matters_only_with_just_in_time_provisioning():
    without_jit = record(identityMapping="Username", userProvisioning=False)
    assert mismatches(params(jit_provisioning=None), record_=without_jit) == []
    assert mismatches(params(jit_provisioning="disabled"), record_=without_jit) == []


def test_profile_ids_compare_whatever_their_length():
    assert mismatches(profile_id=PROFILE_18[:15], expression='return "%s"' % PROFILE_18) == []
    found = mismatches(profile_id=PROFILE_18, expression="return '00e5g000001ZzZz'")
    assert found == [{"what": "profile id of User.ProfileId", "authentik": "00e5g000001ZzZz",
                      "salesforce": PROFILE_18}]


@pytest.mark.parametrize("expression", ["return request.user.attributes['profile']", "", None,
                                        'return "not an id"', 'return "00e5g000001AbCd" + ""'])
def test_an_expression_that_is_not_a_literal_id_is_left_to_the_preview(expression):
    assert mismatches(profile_id=PROFILE_18, expression=expression) == []


def test_the_preview_names_every_missing_attribute_and_a_wrong_name_id():
    preview = {"name_id": "jdoe", "attributes": {"User.Username": "jane@example.com", "User.Email": "",
                                                 "User.FederationIdentifier": "jane@example.com",
                                                 "User.ProfileId": PROFILE_18[:15]}}
    found = mismatches(params(preview_user="jdoe"), idp_=idp(preview=preview), profile_id=PROFILE_18)
    assert [item["what"] for item in found] == [
        "User.Email in the assertion for jdoe", "User.LastName in the assertion for jdoe",
        "NameID of the assertion for jdoe (the Federation ID it logs in with)"]
    assert found[2]["authentik"] == "jdoe" and found[2]["salesforce"] == "jane@example.com"


def test_the_preview_checks_the_profile_id_it_carries():
    attributes = {name: "x" for name in check.JIT_ATTRIBUTES}
    attributes.update({"User.ProfileId": "00e5g000001ZzZz", "User.FederationIdentifier": "jane@example.com"})
    preview = {"name_id": "jane@example.com", "attributes": attributes}
    found = mismatches(params(preview_user="jdoe"), idp_=idp(preview=preview), profile_id=PROFILE_18)
    assert found == [{"what": "User.ProfileId in the assertion for jdoe", "authentik": "00e5g000001ZzZz",
                      "salesforce": PROFILE_18}]


def test_certificates_compare_in_any_of_their_forms():
    body = crypto.pem_body(PEM)
    wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    fingerprint = crypto.pem_fingerprint(PEM)
    for first, second in ((PEM, body), (body, wrapped), (fingerprint.upper(), PEM), ("", "")):
        assert crypto.same_certificate(first, second), (first[:20], second[:20])
    assert not crypto.same_certificate(PEM, crypto.pem_body(OTHER))
    assert not crypto.same_certificate("", PEM)


def test_a_fingerprint_spelled_as_hex_is_not_read_as_a_certificate_body():
    digits = crypto.normalise_fingerprint(crypto.pem_fingerprint(PEM))  # 64 hex digits: valid base64 too
    assert crypto.certificate_der(digits) is None
    assert crypto.pem_fingerprint(digits) == digits
    assert crypto.same_certificate(digits, PEM)
