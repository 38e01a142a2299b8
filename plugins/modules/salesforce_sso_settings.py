#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: salesforce_sso_settings
short_description: Manage the Single Sign-On settings of a Salesforce org
version_added: 0.1.0
description:
  - Turns SAML single sign-on on or off for a Salesforce org (Setup, Single Sign-On Settings, SAML Enabled), and
    sets the other Single Sign-On settings given.
  - These settings are the C(singleSignOnSettings) block of the org's C(SecuritySettings). The module reads them,
    compares only the options given, and writes only that block when something differs. It never sends the other
    blocks of the security settings (sessions, passwords, network access), and never turns the multiple SAML
    configurations setting off (Salesforce cannot turn it on again).
  - The settings always exist, so the module has no C(state) option.
options:
  saml_enabled:
    description: Whether users may log in with SAML single sign-on (SAML Enabled).
    type: bool
  case_insensitive_federation_id:
    description: Whether the Federation ID of a SAML assertion is matched case-insensitively.
    type: bool
  disable_login_with_salesforce_credentials:
    description:
      - Whether users who may use single sign-on are kept from logging in with a Salesforce username and password.
      - V(true) can lock out every administrator who cannot log in through the identity provider, so it is refused
        unless O(force=true).
    type: bool
  force:
    description: Allow O(disable_login_with_salesforce_credentials=true).
    type: bool
    default: false
extends_documentation_fragment:
  - sso.authentik.salesforce
  - sso.authentik.attributes
  - sso.authentik.attributes.salesforce
notes:
  - Calls per run (besides the login and, without O(api_version), the version discovery) - one read when nothing
    changes; one write and one read back otherwise.
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Enable SAML single sign-on
  sso.authentik.salesforce_sso_settings:
    instance_url: https://acme.my.salesforce.com
    access_token: "{{ salesforce.access_token }}"
    saml_enabled: true
"""

RETURN = r"""
sso_settings:
  description: The Single Sign-On settings after the run (C(singleSignOnSettings) of C(SecuritySettings)).
  returned: always
  type: dict
  sample:
    enableSamlLogin: true
    enableMultipleSamlConfigs: true
    enableCaseInsensitiveFederationID: false
    enableForceDelegatedCallout: false
    enableSamlJitProvisioning: false
    isLoginWithSalesforceCredentialsDisabled: false
api_usage:
  description: The calls this run sent (logins and retries included) and the org's daily API usage when reported.
  returned: always
  type: dict
  sample: {calls: 3, retries: 0, logins: 1, api_usage: {used: 1042, limit: 15000}}
"""

from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field
from ansible_collections.sso.authentik.plugins.module_utils._salesforce import (
    METADATA_FIELDS, SalesforceError, SalesforceMetadataResource)

SSO_FIELDS = tuple(METADATA_FIELDS["SingleSignOnSettings"])


class SsoSettings(SalesforceMetadataResource):
    what = "Single Sign-On settings"
    metadata_type = "SecuritySettings"
    key = None
    result_key = "sso_settings"
    has_state = False
    fields = (
        Field("saml_enabled", api="enableSamlLogin", type="bool"),
        Field("case_insensitive_federation_id", api="enableCaseInsensitiveFederationID", type="bool"),
        Field("disable_login_with_salesforce_credentials", api="isLoginWithSalesforceCredentialsDisabled",
              type="bool"),
    )
    extra_options = {"force": dict(type="bool", default=False)}

    def validate(self):
        if self.params["disable_login_with_salesforce_credentials"] and not self.params["force"]:
            raise EngineError("disable_login_with_salesforce_credentials=true can lock out every administrator who "
                              "cannot log in through the identity provider; set force=true to do it anyway.")

    def full_name(self):
        return "Security"  # the one SecuritySettings component of an org

    def from_metadata(self, record):
        block = record.get("singleSignOnSettings") or {}
        return {name: bool(block.get(name)) for name in SSO_FIELDS}

    def find(self):
        view = super().find()
        if view is None:
            raise SalesforceError("readMetadata did not return the org's SecuritySettings (Security)")
        return view

    def update(self, current, payload):
        # Only this block, with every value as read (an omitted value must not be taken for false) and the
        # changes; multiple SAML configurations are never sent as false.
        block = dict(current, **payload)
        if not block.get("enableMultipleSamlConfigs"):
            block.pop("enableMultipleSamlConfigs")
        self.client.metadata.update(self.metadata_type, {"fullName": "Security", "singleSignOnSettings": block})


def main():
    SsoSettings().run()


if __name__ == "__main__":
    main()
