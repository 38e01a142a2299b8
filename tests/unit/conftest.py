"""Shared set-up of the unit tests (run them with `make units`).

tests/conftest.py makes `ansible_collections.sso.authentik` and the shared helpers (`support`) importable.

- `sandbox_server(...)`: starts a sandbox server once per test session and returns its base URL; the servers are
  stopped when the session ends. Tests share them, so a test that changes state resets it (POST /_sandbox/reset).
"""

import json

import pytest
from support import sandboxes


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """Factory for session-wide sandbox servers, returning the base URL (http://127.0.0.1:PORT).

    sandbox_server("authentik", profile="2026.8", token="secret")   # its interpreter: AUTHENTIK_SANDBOX_PYTHON_2026_8
    sandbox_server("salesforce", config={"client_id": ..., "jwt_certificate": PEM, ...})
    The same arguments return the same running server.
    """
    directory = tmp_path_factory.mktemp("sandboxes")
    servers = {}

    def start(kind, profile=None, token=None, config=None):
        key = (kind, profile, token, json.dumps(config, sort_keys=True))
        if key not in servers:
            name = "%s-%d" % (kind, len(servers))
            if kind == "authentik":
                sandboxes.require_pythons([profile])
                server = sandboxes.authentik_server(directory, profile, token=token, name=name)
            elif kind == "salesforce":
                server = sandboxes.salesforce_server(directory, config or {}, name=name)
            else:
                raise ValueError("unknown sandbox kind %r" % kind)
            servers[key] = sandboxes.start_or_fail(server)
        return servers[key].url

    yield start
    sandboxes.stop(*servers.values())
