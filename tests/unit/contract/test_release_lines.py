"""Contract test: what the modules send and read exists in the API of every supported release line.

For each release line, the authentik-client of that line (its interpreter from AUTHENTIK_SANDBOX_PYTHON_<line>,
which `make units` sets) gives the request and response models. The names come from the modules' own Field
declarations, with the version the module would see (Field.api_name(version)), plus what complete_payload adds:
a rename at the wrong version, or a field a line does not know, fails here.
"""
from __future__ import annotations

import inspect
import json
import os
import subprocess
from pathlib import Path

import pytest
from ansible_collections.sso.authentik.plugins.module_utils import _authentik
from ansible_collections.sso.authentik.plugins.modules import (
    application,
    application_binding,
    certificate_keypair,
    oauth_source,
    saml_property_mapping,
    saml_provider,
    scim_property_mapping,
    scim_provider,
)

RELEASE_LINES = ("2025.10", "2025.12", "2026.2", "2026.5", "2026.8")
DUMP = Path(__file__).with_name("schema_dump.py")
MODULES_DIR = Path(__file__).resolve().parents[3] / "plugins" / "modules"

# module -> (request model, response model)
MODELS = {
    application.Application: ("ApplicationRequest", "Application"),
    application_binding.ApplicationBinding: ("PolicyBindingRequest", "PolicyBinding"),
    certificate_keypair.CertificateKeypair: ("CertificateKeyPairRequest", "CertificateKeyPair"),
    oauth_source.OAuthSource: ("OAuthSourceRequest", "OAuthSource"),
    saml_property_mapping.SAMLPropertyMapping: ("SAMLPropertyMappingRequest", "SAMLPropertyMapping"),
    saml_provider.SAMLProvider: ("SAMLProviderRequest", "SAMLProvider"),
    scim_property_mapping.SCIMPropertyMapping: ("SCIMMappingRequest", "SCIMMapping"),
    scim_provider.SCIMProvider: ("SCIMProviderRequest", "SCIMProvider"),
}
# certificate_keypair generates a pair through POST .../generate/ with a body of its own (its create()), so these
# options never reach CertificateKeyPairRequest; the body's keys are checked against the generation model.
GENERATED = {"common_name", "subject_alt_names", "validity_days", "algorithm"}
GENERATE_BODY = ("common_name", "subject_alt_name", "validity_days", "alg")
# Reads a line may lack, each with the proof that the module copes when the key is missing.
OPTIONAL_READS = {
    # 2025.10's CertificateKeyPair has no key_type: the algorithm is then not compared.
    (certificate_keypair.CertificateKeypair, "key_type"): lambda: certificate_keypair.same_algorithm(None, "rsa"),
}


def line_python(line):
    variable = "AUTHENTIK_SANDBOX_PYTHON_" + line.replace(".", "_")
    python = os.environ.get(variable)
    if not python or not Path(python).exists():
        pytest.fail("%s is not set to an existing interpreter (%r); run the unit tests with `make units`"
                    % (variable, python), pytrace=False)
    return python


@pytest.fixture(scope="module")
def schemas():
    """{line: {model: [JSON names] or None}}, one subprocess per line (they run at once)."""
    models = sorted({name for pair in MODELS.values() for name in pair} |
                    {"Patched" + pair[0] for pair in MODELS.values()} | {"CertificateGenerationRequest"})
    procs = {line: subprocess.Popen([line_python(line), str(DUMP)] + models, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for line in RELEASE_LINES}
    found = {}
    for line, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        found[line] = json.loads(out)
        assert ".".join(found[line]["__version__"].split(".")[:2]) == line, found[line]["__version__"]
    return found


def version_of(schemas, line):
    return _authentik.parse_version(schemas[line]["__version__"])


def sample(field):
    if field.default is not None:
        return field.to_api(field.default)
    if field.choices:
        return field.to_api(field.choices[0])
    return {"bool": True, "int": 1, "list": ["x"], "dict": {"k": "v"}}.get(field.type, "x")


def resource(cls, version):
    """A module object with every option set, as complete_payload sees it."""
    # The version property reads the server's: give the object the line's version instead.
    obj = type(cls.__name__, (cls,), {"version": property(lambda self: version)})()
    obj.params = {field.option: sample(field) for field in cls.fields}
    return obj


def sent_names(cls, version):
    """Every API name the module may write to a server of this version."""
    obj = resource(cls, version)
    fields = [f for f in cls.fields if not (cls is certificate_keypair.CertificateKeypair and f.option in GENERATED)]
    everything = {f.api_name(version): sample(f) for f in fields}
    names = set(obj.complete_payload(dict(everything), None))
    current = dict(everything, pk="x")
    for field in fields:
        names |= set(obj.complete_payload({field.api_name(version): sample(field)}, current))
    return names


def read_names(cls, version):
    """Every response key the module reads: its fields (not the write-only secrets) and what it compares."""
    names = {f.read_key or f.api_name(version) for f in cls.fields
             if not f.secret and not (cls is certificate_keypair.CertificateKeypair and f.option in GENERATED
                                      and not f.read_key)}
    return names | set(getattr(cls, "SETTINGS", ()))


def test_every_authentik_resource_module_is_covered():
    covered = {inspect.getmodule(cls).__name__.rsplit(".", 1)[-1] for cls in MODELS}
    resources = set()
    for path in MODULES_DIR.glob("*.py"):
        if "AuthentikResource)" in path.read_text():
            resources.add(path.stem)
    assert resources - covered == set(), "modules without a contract entry"


@pytest.mark.parametrize("line", RELEASE_LINES)
@pytest.mark.parametrize("cls", list(MODELS), ids=lambda cls: cls.__name__)
def test_what_a_module_sends_exists_in_the_request_model(schemas, line, cls):
    version = version_of(schemas, line)
    for model in (MODELS[cls][0], "Patched" + MODELS[cls][0]):
        known = schemas[line][model]
        assert known is not None, "%s has no model %s" % (line, model)
        unknown = sent_names(cls, version) - set(known)
        assert not unknown, "%s would send %s to authentik %s, whose %s has no such field" % (
            cls.__name__, sorted(unknown), schemas[line]["__version__"], model)


@pytest.mark.parametrize("line", RELEASE_LINES)
@pytest.mark.parametrize("cls", list(MODELS), ids=lambda cls: cls.__name__)
def test_what_a_module_reads_exists_in_the_response_model(schemas, line, cls):
    version = version_of(schemas, line)
    unknown = read_names(cls, version) - set(schemas[line][MODELS[cls][1]])
    for name in sorted(unknown):
        copes = OPTIONAL_READS.get((cls, name))
        if copes is not None and copes():
            unknown.discard(name)
    assert not unknown, "%s reads %s from authentik %s, whose %s has no such field" % (
        cls.__name__, sorted(unknown), schemas[line]["__version__"], MODELS[cls][1])


@pytest.mark.parametrize("line", RELEASE_LINES)
def test_the_generated_key_pair_body_exists_in_the_generation_model(schemas, line):
    assert set(GENERATE_BODY) <= set(schemas[line]["CertificateGenerationRequest"])


@pytest.mark.parametrize("line", RELEASE_LINES)
def test_a_renamed_field_has_one_name_per_line(schemas, line):
    """The old name is gone where the module uses the new one, and the other way round: the boundary is exact."""
    version = version_of(schemas, line)
    for cls, (request, _response) in MODELS.items():
        for field in cls.fields:
            names = {field.api} | set(field.renamed.values())
            for name in names - {field.api_name(version)}:
                assert name not in schemas[line][request], "%s.%s: authentik %s's %s has %s, the module sends %s" % (
                    cls.__name__, field.option, line, request, name, field.api_name(version))
