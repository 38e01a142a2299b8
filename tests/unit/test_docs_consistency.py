# -*- coding: utf-8 -*-
"""What the documentation repeats stays equal, and what sanity does not check in it is checked here.

- RETURN cannot use doc fragments, so an entry returned by several modules (api_usage, org_id, ...) is written in
  each of them: same description, type, elements and contained keys everywhere, unless ALLOWED_DIFFERENCES says why
  not. `returned` and `sample` are left out: when a module returns a value, and an example of it, belong to that
  module (org_id is returned on success by salesforce_login, only with state=present by salesforce_saml_sso_config).
- The role's defaults are written twice, in defaults/main.yml (what Ansible uses) and in meta/argument_specs.yml
  (what ansible-doc shows): the same names, the same literal values; a templated default (an environment
  variable, another input) has no `default:` in the specs and its description names what it comes from.
- Markup: classic C()/I()/B()/U()/M() end at the first closing parenthesis, so their text must not hold an opening
  one (C(lookup('file', 'idp.crt')) rendered as broken text); O() in the role's argument specs names an option of
  the role (validate-modules checks the modules' O() and RV(), but not the role's).
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ROLE = ROOT / "roles" / "salesforce_sso"

# (key, module): why that module's entry may differ from the other modules' entry of the same key.
ALLOWED_DIFFERENCES = {
    ("provider", "scim_provider"): "a SCIM provider, not the SAML provider that saml_provider returns",
    ("provider", "saml_provider_info"): "the SAML provider as read; an _info module deletes nothing, so it is never "
                                        "empty after a deletion",
    ("application", "saml_provider_info"): "the slug of the application that uses the provider, not an application "
                                           "object",
    ("users", "authentik_info"): "authentik users by username, with their numeric pk, not Salesforce users",
}

CLASSIC = re.compile(r"\b([CIBUM])\(([^)]*)\)")
OPTION = re.compile(r"\bO\(((?:\\.|[^)\\])*)\)")
ENV_LOOKUP = re.compile(r"lookup\(\s*'ansible\.builtin\.env'\s*,\s*'([A-Z0-9_]+)'\s*\)")
ROLE_VARIABLE = re.compile(r"\b(salesforce_sso_[a-z0-9_]+)\b")
FALLBACK = re.compile(r"\|\s*default\('([^']*)'")
TYPES = {"str": str, "bool": bool, "int": int, "list": list, "dict": dict}


def module_block(module, name):
    tree = ast.parse((ROOT / "plugins" / "modules" / (module + ".py")).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return yaml.safe_load(node.value.value) or {}
    raise AssertionError("%s has no %s" % (module, name))


def fragment_blocks():
    """(fragment.ATTRIBUTE, parsed YAML) of every doc fragment."""
    for path in sorted((ROOT / "plugins" / "doc_fragments").glob("*.py")):
        spec = importlib.util.spec_from_file_location("fragment_" + path.stem, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        for attribute in sorted(vars(loaded.ModuleDocFragment)):
            if attribute.isupper():
                yield "%s.%s" % (path.stem, attribute), yaml.safe_load(getattr(loaded.ModuleDocFragment, attribute))


def role_specs():
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def text(description):
    """A description as one string (a list of paragraphs or one paragraph), whitespace collapsed."""
    if isinstance(description, list):
        description = " ".join(description)
    return " ".join(str(description or "").split())


def entries(returns, path=()):
    """Every RETURN entry by its path: ('certificate',), ('certificate', 'pem'), ..."""
    for key, entry in (returns or {}).items():
        yield path + (key,), entry
        yield from entries(entry.get("contains"), path + (key,))


def meaning(entry):
    """What two entries of the same key must agree on."""
    return {"description": text(entry.get("description")), "type": entry.get("type"),
            "elements": entry.get("elements"), "contains": sorted(entry.get("contains") or {})}


def shared_returns():
    """{path: {module: entry}} of the RETURN entries that more than one module documents."""
    by_path = {}
    for module in MODULES:
        for path, entry in entries(module_block(module, "RETURN")):
            by_path.setdefault(path, {})[module] = entry
    return {path: found for path, found in by_path.items() if len(found) > 1}


def prose(node):
    """Every text of a documentation tree that ansible-doc renders with markup (descriptions, notes, returned)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "short_description", "notes", "returned") and not isinstance(value, dict):
                yield from (value if isinstance(value, list) else [value])
            elif key not in ("sample", "default", "choices", "example"):
                yield from prose(value)
    elif isinstance(node, list):
        for item in node:
            yield from prose(item)


def documents():
    """(where, parsed YAML) of every module's DOCUMENTATION and RETURN, every fragment and the role's specs."""
    for module in MODULES:
        yield module + ".DOCUMENTATION", module_block(module, "DOCUMENTATION")
        yield module + ".RETURN", module_block(module, "RETURN")
    yield from fragment_blocks()
    yield "roles/salesforce_sso/meta/argument_specs.yml", role_specs()


# -- RETURN entries shared by several modules -------------------------------------------------------------------

def test_some_return_entries_are_shared():
    """The comparison below has something to compare (the Salesforce modules share api_usage, org_id, ...)."""
    shared = shared_returns()
    assert {("api_usage",), ("org_id",), ("org_id_15",), ("api_version",)} <= set(shared), sorted(shared)


@pytest.mark.parametrize("path", sorted(shared_returns()), ids=".".join)
def test_a_return_entry_shared_by_several_modules_means_the_same_everywhere(path):
    found = shared_returns()[path]
    compared = {module: meaning(entry) for module, entry in found.items()
                if (".".join(path), module) not in ALLOWED_DIFFERENCES}
    if not compared:
        return
    reference_module = sorted(compared)[0]
    reference = compared[reference_module]
    differing = {module: value for module, value in compared.items() if value != reference}
    assert not differing, "RETURN %r differs from %s's %r in: %s" % (
        ".".join(path), reference_module, reference, differing)


def test_allowed_differences_are_still_needed():
    """An allowance that names an entry no longer shared, or no longer different, goes."""
    shared = shared_returns()
    for (key, module), reason in sorted(ALLOWED_DIFFERENCES.items()):
        assert reason
        found = shared.get(tuple(key.split(".")), {})
        assert module in found, "ALLOWED_DIFFERENCES names %s of %s, which is not a shared entry" % (key, module)
        others = [meaning(entry) for other, entry in found.items() if other != module]
        assert meaning(found[module]) not in others, (
            "%s of %s is now documented like another module's: remove it from ALLOWED_DIFFERENCES" % (key, module))


# -- the role's two sets of defaults ----------------------------------------------------------------------------

def role_defaults():
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def test_the_role_defaults_and_its_argument_specs_name_the_same_variables():
    options = role_specs()["main"]["options"]
    assert sorted(role_defaults()) == sorted(options)


@pytest.mark.parametrize("name", sorted(role_defaults()))
def test_a_role_default_is_the_one_its_argument_spec_shows(name):
    value = role_defaults()[name]
    spec = role_specs()["main"]["options"].get(name)
    assert spec is not None, "%s is in defaults/main.yml but not in meta/argument_specs.yml" % name
    description = text(spec.get("description"))
    if templated(value):
        # The specs cannot show a template: no default there, and the description says where the value comes from.
        assert "default" not in spec, "%s: meta/argument_specs.yml shows %r, defaults/main.yml templates %r" % (
            name, spec["default"], value)
        assert "Defaults to" in description, "%s: the description does not say what it defaults to" % name
        needed = (["E(%s)" % variable for variable in ENV_LOOKUP.findall(value)]
                  + ["O(%s)" % variable for variable in ROLE_VARIABLE.findall(value) if variable != name]
                  + ["V(%s)" % fallback for fallback in FALLBACK.findall(value)])
        assert needed, "%s: a templated default that names neither a variable nor a fallback: %r" % (name, value)
        missing = [words for words in needed if words not in description]
        assert not missing, "%s defaults to %r; its description lacks %s" % (name, value, ", ".join(missing))
    else:
        assert "default" in spec, "%s: defaults/main.yml sets %r, meta/argument_specs.yml shows no default" % (
            name, value)
        shown = spec["default"]
        assert (type(shown), shown) == (type(value), value), (
            "%s: meta/argument_specs.yml shows %r, defaults/main.yml sets %r" % (name, shown, value))
        assert isinstance(value, TYPES[spec.get("type", "str")]), "%s: %r is not of type %s" % (
            name, value, spec.get("type", "str"))


# -- markup -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", [where for where, _document in documents()])
def test_classic_markup_holds_no_parenthesis(where):
    document = dict(documents())[where]
    broken = ["%s(%s)" % match for paragraph in prose(document) for match in CLASSIC.findall(str(paragraph))
              if "(" in match[1]]
    assert not broken, "%s: %s end at the first ')'; rephrase, or use V() with \\)" % (where, broken)


def test_the_role_specs_refer_to_options_of_the_role():
    for entry_point, spec in role_specs().items():
        options = set(spec.get("options") or {})
        named = {re.split(r"(?<!\\)=", target, maxsplit=1)[0]
                 for paragraph in prose(spec) for target in OPTION.findall(str(paragraph))}
        assert named, "%s: no O() at all; is the pattern still right?" % entry_point
        assert named <= options, "%s: O() names options the role does not have: %s" % (
            entry_point, sorted(named - options))
