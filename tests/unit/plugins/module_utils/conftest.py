# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the test_salesforce_*.py files (their helpers are in salesforce_fakes.py)."""

from __future__ import annotations

import pytest
from support import certificates


@pytest.fixture(scope="session")
def rsa_key():
    return certificates.new_key()


@pytest.fixture(scope="session")
def rsa_pem(rsa_key):
    return certificates.key_pem(rsa_key)


@pytest.fixture
def sleeps():
    return []
