# -*- coding: utf-8 -*-
"""The collection's wiring: action groups equal the module list, and every module documents its group."""

from __future__ import annotations

import ast
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def group_of(module):
    return "salesforce" if module.startswith("salesforce_") else "authentik"


def documentation(module):
    tree = ast.parse((ROOT / "plugins" / "modules" / (module + ".py")).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no DOCUMENTATION" % module)


def test_there_are_modules():
    assert len(MODULES) >= 4


def test_action_groups_equal_the_module_list():
    groups = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]
    assert set(groups) == {"authentik", "salesforce"}
    for group in groups:
        assert sorted(groups[group] or []) == [m for m in MODULES if group_of(m) == group], group


def test_each_module_documents_its_group_and_connection_options():
    for module in MODULES:
        fragments = documentation(module)["extends_documentation_fragment"]
        group = group_of(module)
        assert "sso.authentik.%s" % group in fragments, module
        assert "sso.authentik.attributes.%s" % group in fragments, module
        other = "salesforce" if group == "authentik" else "authentik"
        assert "sso.authentik.attributes.%s" % other not in fragments, module
