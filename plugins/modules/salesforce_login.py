#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_login
short_description: Log in to a Salesforce org once and return the access token
version_added: 0.1.0
description:
  - Logs in to a Salesforce org with the JWT bearer flow (O(client_id), O(username) and O(private_key) or
    O(private_key_file)) or the client credentials flow (O(client_id) and O(client_secret)), and returns the access
    token RV(access_token), the instance URL RV(instance_url) and the API version RV(api_version).
  - Pass them on to the other Salesforce modules (for example with C(module_defaults) and the group
    C(group/sso.authentik.salesforce)), so that a play logs in once instead of once per task, and discovers the
    API version once.
  - An O(access_token) is already a login; it is ignored here (give it to the other modules as it is).
options: {}
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.attributes.info
  - sso.authentik.attributes.salesforce
notes:
  - Two requests - the token request and, without O(api_version), the version discovery (which does not count
    against the org's API limit).
  - RV(access_token) is a secret. Use C(no_log=true) on the task if you print its result. It is the one secret a
    result of this collection carries on purpose; it is masked in this module's messages and warnings, and in
    every message of the other modules that use it.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Log in once with the JWT bearer flow
  sso.authentik.salesforce_login:
    instance_url: https://acme.my.salesforce.com
    client_id: "{{ salesforce_client_id }}"
    username: deploy@acme.com
    private_key_file: ~/.ssh/salesforce-jwt.key
  register: salesforce

- name: The other modules use that session
  module_defaults:
    group/sso.authentik.salesforce:
      instance_url: "{{ salesforce.instance_url }}"
      access_token: "{{ salesforce.access_token }}"
      api_version: "{{ salesforce.api_version }}"
  block:
    - name: Enable SAML
      sso.authentik.salesforce_sso_settings:
        saml_enabled: true
"""

RETURN = r"""
access_token:
  description: The OAuth access token (session id).
  returned: success
  type: str
  sample: 00D5g000004Ab1C!AQ4AQ...
instance_url:
  description: The org's URL as the token endpoint reported it (its My Domain URL).
  returned: success
  type: str
  sample: https://acme.my.salesforce.com
api_version:
  description: The API version in use, the newest the org offers unless O(api_version) was given.
  returned: success
  type: str
  sample: "65.0"
org_id:
  description: The org's 18-character id.
  returned: success
  type: str
  sample: 00D5g000004Ab1CEAS
org_id_15:
  description: The org's 15-character id (the one in the C(?so=) of the SAML login URL).
  returned: success
  type: str
  sample: 00D5g000004Ab1C
user_id:
  description: The 18-character id of the user logged in, when the token endpoint reported it.
  returned: success
  type: str
  sample: 0055g00000A1b2CAAR
login_flow:
  description: The login flow used.
  returned: success
  type: str
  sample: JWT bearer
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: success
  type: dict
  sample: {calls: 2, retries: 0, logins: 1, api_usage: null}
"""

import re
import traceback

from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, SafeModule
from ansible_collections.sso.authentik.plugins.module_utils._http import Scrubber
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import (
    check_dependencies, salesforce_argument_spec, salesforce_module_kwargs)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import SalesforceClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import is_salesforce_id, to_18

LOGIN_OPTIONS = ("client_id", "client_secret", "username", "private_key", "private_key_file")


def main():
    module = SafeModule(argument_spec=salesforce_argument_spec(), supports_check_mode=True,
                        **salesforce_module_kwargs())
    check_dependencies(module)
    # The one result that carries a secret on purpose: the token obtained here is masked in this module's messages
    # (the session's own scrubber knows it) but not in its result, which the caller registers with no_log.
    scrubber = Scrubber(module.no_log_values)
    try:
        if not any(module.params[option] for option in LOGIN_OPTIONS):
            raise SalesforceError(
                "salesforce_login needs client_id, username and private_key or private_key_file (JWT bearer flow), or "
                "client_id and client_secret (client credentials flow)"
                + ("; an access_token is already a login: give it to the other modules as it is"
                   if module.params["access_token"] else ""))
        client = SalesforceClient.from_params(dict(module.params, access_token=None), scrubber=scrubber)
        for warning in client.warnings:
            module.warn(warning)
        token = client.session.access_token
        result = {"access_token": token, "instance_url": client.instance_url,
                  "api_version": client.rest.api_version, "login_flow": client.session.login_strategy.name}
        org = client.org_id()
        result.update(org_id=org, org_id_15=org[:15])
        user = re.search(r"/id/[A-Za-z0-9]+/([A-Za-z0-9]{15,18})$", client.session.login_info.get("id") or "")
        if user and is_salesforce_id(user.group(1)):
            result["user_id"] = to_18(user.group(1))
        result["api_usage"] = client.session.usage()
    except EngineError as exc:
        module.fail_json(msg=scrubber.text(exc.msg), **exc.details)
    except Exception as exc:  # a bug: one line, the traceback for -vvv only
        module.fail_json(msg=scrubber.text("Unexpected error in salesforce_login: %s" % exc),
                         exception=scrubber.text(traceback.format_exc()))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
