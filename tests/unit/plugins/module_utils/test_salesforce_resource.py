# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layer the modules build on (_salesforce_resource.py): SalesforceClient's lookups. The modules themselves are
tested in tests/unit/plugins/modules/test_salesforce_modules.py."""

from __future__ import annotations

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import USER, SalesforceClient
from salesforce_fakes import FakeHTTP, make_session, response


@pytest.mark.parametrize("rows", [[{"Username": "a@b.c"}], [{"Username": "a@b.c", "Id": 5}],
                                  [{"Username": "a@b.c", "Id": "not-an-id"}]])
def test_records_without_a_valid_id_are_a_sentence(rows):
    http = FakeHTTP(response(200, {"records": rows, "done": True}))
    client = SalesforceClient(make_session(http, api_version="63.0"))
    with pytest.raises(SalesforceError, match="user record without a valid Id"):
        client.lookup(USER, ["a@b.c"])
