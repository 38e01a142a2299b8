# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Resource modules: full check mode (no write request at all) and diff mode.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode; no write request is sent and the result predicts the change.
    support: full
  diff_mode:
    description: Returns the managed fields before and after the change; secrets are masked.
    support: full
"""

    # Info modules: they change nothing in the API.
    INFO = r"""
attributes:
  check_mode:
    description: Can run in check mode; it reads only.
    support: full
  diff_mode:
    description: Reports no differences; it reads only.
    support: none
"""

    AUTHENTIK = r"""
attributes:
  action_group:
    description: Use C(group/sso.authentik.authentik) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sso.authentik.authentik
"""

    SALESFORCE = r"""
attributes:
  action_group:
    description: Use C(group/sso.authentik.salesforce) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - sso.authentik.salesforce
"""
