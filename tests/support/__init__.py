"""What every test suite shares: sandboxes, certificates, fakes, playbook runs.

- ``support.sandboxes``: start sandbox servers (through tests/sandbox/launch.py, the one place that starts them),
  stop them, wait for them, and call their control APIs (reset, request log, state, config, faults, guard).
- ``support.certificates``: keys, self-signed certificates, a CA and the certificates it signs.
- ``support.fakes``: scripted HTTP answers and sessions for unit tests, and a fake AnsibleModule.
- ``support.playbooks``: run ansible-playbook with a clean environment and read its recap and failures.

Importable as ``support`` by every suite: tests/conftest.py puts tests/ on sys.path for the pytest suites, and
scripts (tests/bench/bench.py) put it there themselves. The suites run from a copy of the collection under
.../ansible_collections/sso/authentik (``make units``, ``make bad-inputs``...) or from the repository itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
COLLECTION_ROOT = TESTS.parent
SANDBOX_SRC = TESTS / "sandbox"


def collections_path():
    """The folder holding ansible_collections/sso/authentik when this is such a copy (a build copy), else None."""
    if COLLECTION_ROOT.parts[-3:] == ("ansible_collections", "sso", "authentik"):
        return COLLECTION_ROOT.parents[2]
    return None


def use_collection():
    """Make ``ansible_collections.sso.authentik`` importable from this copy of the collection; its path or None."""
    root = collections_path()
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root
