"""Helpers of the unit tests that run modules in-process (importable as `unit_support`: pytest puts this folder,
which holds the unit tests' conftest.py, on sys.path). Fakes and certificates are in tests/support."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings


def run_module(monkeypatch, capsys, module, args):
    """Run a module's main() as Ansible does, with `args`; returns its JSON result."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    getattr(ansible_warnings, "_global_warnings", {}).clear()
    with pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)
