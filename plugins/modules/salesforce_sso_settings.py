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
    changes; otherwise one write and two reads back, the second after a pause as long as the write took (at
    least half a second).
  - Two runs changing different settings at once - the Metadata API has no conditional update, so a run that
    read the settings before another run's write sends its whole block and undoes that change. Each run reads its
    change back, at once and after the pause; when it is gone, the run merges it onto the settings as they are
    now and writes again (up to three times, then it fails rather than report a change that is not there).
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

import time

from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_resource import SalesforceMetadataResource
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_soap import METADATA_FIELDS

SSO_FIELDS = tuple(METADATA_FIELDS["SingleSignOnSettings"])
MERGES = 3  # writes of one run when other runs keep overwriting its change
SETTLE_MIN = 0.5  # seconds before the confirming read: at least this,
SETTLE_MAX = 10.0  # at most this


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

    def __init__(self):
        super().__init__()
        self.final = None  # the settings as last confirmed by update()
        self.sleep = time.sleep
        self.clock = time.monotonic

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
        """Write the block, then make sure the change is there, also against another run writing at once.

        The Metadata API has no conditional update: a run that read the settings before this write sends its
        whole block from that read and undoes this change. So the block is read back at once and again after as
        long as one read and write took (by then a write based on an older read has landed); when the change is
        gone, it is merged onto what is there now (keeping the other run's change) and written again.
        """
        basis = current
        for _attempt in range(MERGES):
            started = self.clock()
            self.write(basis, payload)
            after = self.find()
            if self.holds(after, payload):
                self.sleep(min(SETTLE_MAX, max(SETTLE_MIN, self.clock() - started)))
                after = self.find()
                if self.holds(after, payload):
                    self.final = after
                    return
            basis = after
        lost = ", ".join("%s is %s" % (field.option, str(basis.get(field.api)).lower()) for field in self.fields
                         if field.api in payload and bool(basis.get(field.api)) != bool(payload[field.api]))
        raise EngineError("Another change of the org's Single Sign-On settings overwrote this one %d times in a row "
                          "(now %s); not reported as done. Run the task again when no other run changes these "
                          "settings." % (MERGES, lost))

    def write(self, basis, payload):
        # Only this block, with every value as read (an omitted value must not be taken for false) and the
        # changes; multiple SAML configurations are never sent as false.
        block = dict(basis, **payload)
        if not block.get("enableMultipleSamlConfigs"):
            block.pop("enableMultipleSamlConfigs")
        self.client.metadata.update(self.metadata_type, {"fullName": "Security", "singleSignOnSettings": block})

    @staticmethod
    def holds(view, payload):
        return all(bool(view.get(key)) == bool(value) for key, value in payload.items())

    def reread(self, obj):
        return self.final if self.final is not None else super().reread(obj)


def main():
    SsoSettings().run()


if __name__ == "__main__":
    main()
