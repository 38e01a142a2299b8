# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Salesforce's answers (_salesforce_errors.py): bodies as text in any charset, JSON or a ValueError, error
pages in a few words."""

from __future__ import annotations

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import (
    SalesforceError, page_words, response_json, response_text)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import describe_error
from salesforce_fakes import metadata_client, response


@pytest.mark.parametrize("body, content_type", [
    (b'<?xml version="1.0" encoding="bogus"?><a/>', "text/xml"), (b"<a/>", "text/xml; charset=bogus"),
    (b'{"records": []}', "application/json; charset=bogus"),
])
def test_unknown_charsets_are_read_not_raised(body, content_type):
    answer = response(200, body, {"Content-Type": content_type})
    answer.encoding = content_type.partition("charset=")[2] or None
    client = metadata_client(answer)[0]
    with pytest.raises(SalesforceError, match="cannot be read|no readMetadataResponse"):
        client.read("SamlSsoConfig", "authentik")
    error = response(500, body, {"Content-Type": content_type})
    error.encoding = answer.encoding
    assert describe_error(error)[0] is None


def test_a_body_is_json_or_a_value_error_never_another_exception():
    assert response_json(response(200, {"a": [1]})) == {"a": [1]}
    for body in (b"[" * 100000, b"\xff\xfe{", b"<html>Oops</html>", b""):
        with pytest.raises(ValueError, match="not JSON"):
            response_json(response(200, body))


def test_a_body_in_a_charset_python_does_not_know_is_read_as_utf8():
    answer = response(200, "caf\u00e9".encode())
    answer.encoding = "bogus"
    assert response_text(answer) == "caf\u00e9"


def test_an_error_page_becomes_a_few_words():
    assert page_words(response(500, "<html><body><h1>Internal error</h1></body></html>")) == "Internal error"
    assert page_words(response(401, b"")) == "Unauthorized"
    assert page_words(response(418, b"")) == "no details"
