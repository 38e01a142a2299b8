# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The state option every resource module takes (added by the engine, _engine.py STATE_SPEC).
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(present) creates the object or updates the options given that differ; options not given are left as
        they are.
      - V(absent) deletes the object if it exists.
    type: str
    choices: [present, absent]
    default: present
"""

    # Modules with write-only secrets (engine: UPDATE_SECRETS_SPEC).
    SECRETS = r"""
options:
  update_secrets:
    description:
      - The server never returns write-only secrets, so they cannot be compared.
      - V(on_create) sends them only when the object is created; a later run does not change them.
      - V(always) sends them on every run, which then always reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
"""
