# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every authentik module (plugins/module_utils/_authentik.py: authentik_argument_spec).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the authentik server, for example V(https://authentik.company).
      - The API is reached under C(<url>/api/v3/).
      - If not set, the value of the E(AUTHENTIK_URL) environment variable is used.
    type: str
    required: true
  token:
    description:
      - An authentik API token (intent C(api)) of a user allowed to manage the objects.
      - Sent in the C(Authorization) header as a bearer token. authentik answers HTTP 403 (never 401) when it is
        invalid or lacks permission.
      - If not set, the value of the E(AUTHENTIK_TOKEN) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turn off only for a test server.
      - If not set, the value of the E(AUTHENTIK_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authorities to trust for the server's certificate, instead of the system
        store.
      - If not set, the value of the E(AUTHENTIK_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the server.
      - If not set, the value of the E(AUTHENTIK_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is tried again after a connection error, HTTP 429 (honouring C(Retry-After)),
        502, 503 or 504, with exponential backoff and jitter.
      - A create whose answer was lost is never repeated blindly; the object is looked up first.
      - If not set, the value of the E(AUTHENTIK_RETRIES) environment variable is used.
    type: int
    default: 4
notes:
  - The module talks to the authentik API from the host it runs on; run it on the controller
    (C(hosts=localhost) or C(delegate_to=localhost)).
  - Supports authentik 2025.10 and newer. Fields renamed between versions are mapped from the server version.
requirements:
  - requests
"""
