"""Shared by every pytest suite under tests/ (units, bad_inputs, reliability, awx).

It makes the shared helpers importable as ``support`` (tests/support) and, when the suites run from a copy of the
collection under .../ansible_collections/sso/authentik (the build copy the Makefile uses), the collection as
``ansible_collections.sso.authentik``.
"""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

import support  # noqa: E402

support.use_collection()
