# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The REST data API (_salesforce_rest.py): API versions, SOQL queries and quoting, record ids, with a fake transport
(no server)."""

from __future__ import annotations

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_metadata import MetadataClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import (
    RestClient, is_salesforce_id, same_id, soql_quote, to_15, to_18)
from salesforce_fakes import FakeHTTP, INSTANCE, fixture, make_session, response


# ---------------------------------------------------------------------------------------------------------------
# Versions, queries, errors
# ---------------------------------------------------------------------------------------------------------------

def test_api_version_discovered_once_and_newest():
    http = FakeHTTP(response(200, fixture("versions.json")))
    rest = RestClient(make_session(http))
    assert rest.api_version == "67.0"
    assert rest.api_version == "67.0" and MetadataClient(rest.session).path == "/services/Soap/m/67.0"
    assert len(http.calls) == 1 and http.calls[0][1] == INSTANCE + "/services/data/"


def test_api_version_override_skips_discovery():
    http = FakeHTTP()
    rest = RestClient(make_session(http, api_version="v63"))
    assert rest.api_version == "63.0" and rest.data_path("query") == "/services/data/v63.0/query"
    assert http.calls == []


@pytest.mark.parametrize("value", ["59.0", "42", "abc"])
def test_api_version_override_refused(value):
    with pytest.raises(SalesforceError, match="api_version"):
        make_session(FakeHTTP(), api_version=value)


def test_old_org_refused():
    http = FakeHTTP(response(200, [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}]))
    with pytest.raises(SalesforceError, match="newest API version is 59.0; this collection needs 60.0"):
        assert RestClient(make_session(http)).api_version is None  # not reached


def test_query_follows_next_records_url():
    http = FakeHTTP(response(200, fixture("query_page1.json")), response(200, fixture("query_page2.json")))
    rest = RestClient(make_session(http, api_version="63.0"))
    records = rest.query("SELECT Id, Name FROM Profile")
    assert [r["Name"] for r in records] == ["System Administrator", "Standard User", "Read Only"]
    assert http.calls[0][1] == INSTANCE + "/services/data/v63.0/query"
    assert http.calls[0][2]["params"] == {"q": "SELECT Id, Name FROM Profile"}
    assert http.calls[1][1] == INSTANCE + "/services/data/v63.0/query/01gD0000002HU6KIAW-2000"


def test_tooling_query_path():
    http = FakeHTTP(response(200, {"totalSize": 0, "done": True, "records": []}))
    assert RestClient(make_session(http, api_version="63.0")).query("SELECT Id FROM Certificate",
                                                                    tooling=True) == []
    assert http.calls[0][1] == INSTANCE + "/services/data/v63.0/tooling/query"


def test_rest_error_array_is_a_sentence():
    http = FakeHTTP(response(400, fixture("rest_malformed_query.json")))
    with pytest.raises(SalesforceError) as info:
        RestClient(make_session(http, api_version="63.0")).query("SELECT Id FORM Profile")
    assert info.value.message == ("GET /services/data/v63.0/query failed with HTTP 400 MALFORMED_QUERY: "
                                  "unexpected token: FORM (fields: Name)")
    assert info.value.fail_kwargs() == {"msg": info.value.message, "status": 400, "error_code": "MALFORMED_QUERY"}


@pytest.mark.parametrize("value, literal", [
    ("System Administrator", "'System Administrator'"),
    ("O'Brien", "'O\\'Brien'"),
    ("back\\slash", "'back\\\\slash'"),
    ("x' OR Name != '", "'x\\' OR Name != \\''"),
    ('say "hi"\n', "'say \\\"hi\\\"\\n'"),
])
def test_soql_quote(value, literal):
    assert soql_quote(value) == literal


# ---------------------------------------------------------------------------------------------------------------
# Record ids
# ---------------------------------------------------------------------------------------------------------------

def test_id_conversion_known_examples():
    assert to_18("00558000001N0Ke") == "00558000001N0KeAAK"  # reference example
    assert to_18("000000000000000") == "000000000000000AAA"  # no upper-case letter: 0 0 0
    assert to_18("AAAAAAAAAAAAAAA") == "AAAAAAAAAAAAAAA555"  # all upper-case: 31 31 31
    assert to_18("A0000B00000000C") == "A0000B00000000CBBQ"  # bits: 1, 1, 16
    assert to_18("00558000001N0KeAAK") == "00558000001N0KeAAK"
    assert to_15("00558000001N0KeAAK") == "00558000001N0Ke"
    assert same_id("00558000001N0Ke", "00558000001N0KeAAK")
    assert not same_id("00558000001N0Ke", "00558000001N0KE")  # 15-character ids are case-sensitive


@pytest.mark.parametrize("value", ["", "0055800000", "00558000001N0Ke!", "00558000001N0KeAAA", "00558000001N0Keaak",
                                   None, 12345])
def test_invalid_ids(value):
    assert not is_salesforce_id(value)
    with pytest.raises(SalesforceError, match="is not a Salesforce id"):
        to_18(value)


# ---------------------------------------------------------------------------------------------------------------
# Off the happy path (issue 9): answers of the wrong shape, values that go into a path
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"version": "63.0"}, ["63.0", "64.0"], [{"label": "x"}], [{"version": 63}], [{"version": "../../evil/63.0"}],
    [], "\"versions\"",
])
def test_wrong_shaped_versions_are_a_sentence(body):
    http = FakeHTTP(response(200, body))
    with pytest.raises(SalesforceError, match="returned no API versions"):
        RestClient(make_session(http)).api_version  # noqa: B018


@pytest.mark.parametrize("body, needle", [
    ([{"Id": "x"}], "not a query result"), ({"totalSize": 1}, "not a query result"),
    ({"records": {"Id": "x"}}, "not a query result"), ({"records": ["005"]}, "not a query result"),
    ({"records": [], "done": False, "nextRecordsUrl": "https://evil.example/q"}, "not a query page of this org"),
    ({"records": [], "done": False, "nextRecordsUrl": "/services/data/../../x"}, "not a query page of this org"),
])
def test_wrong_shaped_query_answers_are_a_sentence(body, needle):
    http = FakeHTTP(response(200, body))
    session = make_session(http, api_version="63.0")
    with pytest.raises(SalesforceError, match=needle):
        RestClient(session).query("SELECT Id FROM User")
    assert len(http.calls) == 1


def test_path_values_checked():
    session = make_session(FakeHTTP(), api_version="63.0")
    session.api_version = "63.0/../../x"
    with pytest.raises(SalesforceError, match="as the API version in a URL path"):
        RestClient(session).data_path("query")
    with pytest.raises(SalesforceError, match="as the API version in a URL path"):
        MetadataClient(session).path  # noqa: B018
