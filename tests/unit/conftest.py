"""Shared set-up of the unit tests (run them with `make units`).

- Makes `ansible_collections.sso.authentik` importable when the tests run from a copy of the collection under
  .../ansible_collections/sso/authentik (the build copy that `make units` uses).
- `authentik_sandbox_python(profile)`: the interpreter of an authentik sandbox profile (its virtualenv holds that
  release's authentik-client), from AUTHENTIK_SANDBOX_PYTHON_2025_12, _2026_2, ..., which `make units` sets.
- `sandbox_server(...)`: starts a sandbox server once per test session and returns its base URL; the servers are
  stopped when the session ends. Tests share them, so a test that changes state resets it (POST /_sandbox/reset).
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SRC = COLLECTION_ROOT / "tests" / "sandbox"
AUTHENTIK_PROFILES = ("2025.12", "2026.2", "2026.5", "2026.8")

# .../ansible_collections/sso/authentik/tests/unit/conftest.py: put the folder holding ansible_collections on the path.
if COLLECTION_ROOT.parts[-3:-2] == ("ansible_collections",) and COLLECTION_ROOT.parts[-2:] == ("sso", "authentik"):
    _collections_root = str(COLLECTION_ROOT.parents[2])
    if _collections_root not in sys.path:
        sys.path.insert(0, _collections_root)


def _load_launcher():
    """tests/sandbox/launch.py, which knows how to start a sandbox server and wait until it answers."""
    spec = importlib.util.spec_from_file_location("sandbox_launch", SANDBOX_SRC / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _authentik_python(profile):
    if profile not in AUTHENTIK_PROFILES:
        raise ValueError("unknown authentik sandbox profile %r (known: %s)" % (profile, ", ".join(AUTHENTIK_PROFILES)))
    variable = "AUTHENTIK_SANDBOX_PYTHON_" + profile.replace(".", "_")
    python = os.environ.get(variable)
    if not python or not Path(python).exists():
        # Not a skip: without the interpreter the sandbox tests cannot say anything, and that must be visible.
        pytest.fail("%s is not set to an existing interpreter (%r); run the unit tests with `make units`"
                    % (variable, python), pytrace=False)
    return python


@pytest.fixture(scope="session")
def authentik_sandbox_python():
    """Factory: authentik_sandbox_python("2026.8") -> path of that profile's interpreter."""
    return _authentik_python


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """Factory for session-wide sandbox servers, returning the base URL (http://127.0.0.1:PORT).

    sandbox_server("authentik", profile="2026.8", token="secret")
    sandbox_server("salesforce", config={"client_id": ..., "jwt_certificate": PEM, ...})
    The same arguments return the same running server.
    """
    launch = _load_launcher()
    directory = tmp_path_factory.mktemp("sandboxes")
    servers = {}

    def start(kind, profile=None, token=None, config=None, timeout=180):  # a bound, not a margin
        key = (kind, profile, token, json.dumps(config, sort_keys=True))
        if key in servers:
            return servers[key].url
        name = "%s-%d" % (kind, len(servers))
        if kind == "authentik":
            command = [_authentik_python(profile), str(SANDBOX_SRC / "authentik" / "server.py"), "--profile", profile]
            if token:
                command += ["--token=" + token]
        elif kind == "salesforce":
            config_file = directory / (name + ".json")
            config_file.write_text(json.dumps(config or {}))
            command = [sys.executable, str(SANDBOX_SRC / "salesforce" / "server.py"), "--config", str(config_file)]
        else:
            raise ValueError("unknown sandbox kind %r" % kind)
        server = launch.Server(name, command, directory, token)
        server.start()
        servers[key] = server
        try:
            launch.wait_ready([server], timeout)
        except launch.LaunchError as error:
            pytest.fail("sandbox %s did not start: %s" % (name, error), pytrace=False)
        return server.url

    yield start
    for server in servers.values():
        server.stop()
