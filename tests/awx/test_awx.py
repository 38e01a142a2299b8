"""AWX / Automation Platform: the execution environment definitions and what docs/awx.md tells people to set up.

Run from a copy of the collection under .../ansible_collections/sso/authentik, with that copy on
ANSIBLE_COLLECTIONS_PATH and this interpreter's virtualenv holding ansible-core and ansible-builder (`make awx`).
The blocks of docs/awx.md that follow an `<!-- awx-test: NAME -->` marker are read here, so the page cannot drift
from what is tested. The last test starts the sandboxes (support.sandboxes, through tests/sandbox/launch.py) in
AWX_SANDBOX_DIR (default: a temporary directory) and stops them when it ends.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from support import COLLECTION_ROOT, playbooks, sandboxes

DOC = COLLECTION_ROOT / "docs" / "awx.md"
# ansible-playbook and ansible-builder of this interpreter's virtualenv.
BIN = playbooks.BIN
# The role's connection variables: a job template must leave them to the credentials.
ROLE_CONNECTION_VARS = {
    "salesforce_sso_authentik_url", "salesforce_sso_authentik_token", "salesforce_sso_authentik_validate_certs",
    "salesforce_sso_instance_url", "salesforce_sso_access_token", "salesforce_sso_client_id",
    "salesforce_sso_client_secret", "salesforce_sso_username", "salesforce_sso_private_key",
    "salesforce_sso_private_key_file", "salesforce_sso_validate_certs",
}


def doc_blocks(name):
    """The YAML blocks of docs/awx.md marked `<!-- awx-test: name -->`, parsed."""
    text = DOC.read_text(encoding="utf-8")
    pattern = r"<!-- awx-test: %s -->\n```yaml\n(.*?)```" % re.escape(name)
    return [yaml.safe_load(block) for block in re.findall(pattern, text, flags=re.S)]


def doc_block(name):
    blocks = doc_blocks(name)
    assert len(blocks) == 1, "docs/awx.md should have one %r block, has %d" % (name, len(blocks))
    return blocks[0]


def credential_type(name):
    matches = [ct for ct in doc_blocks("credential-type") if ct["name"] == name]
    assert len(matches) == 1, "docs/awx.md should define the credential type %r once" % name
    return matches[0]


def module_env_vars():
    """Every environment variable the modules' connection options fall back to (plugins/module_utils)."""
    names = set()
    for path in (COLLECTION_ROOT / "plugins" / "module_utils").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'env_fallback, \["([A-Z0-9_]+)"\]', text))
        names.update(re.findall(r'\benv\("([A-Z0-9_]+)"\)', text))
    return names


def inject(ctype, inputs, directory):
    """The environment AWX gives a job for a credential of this type, following AWX's injection rules: only
    non-empty inputs are defined (undefined names render as ""), a missing boolean is False, `file` templates are
    written to files named by `tower.filename` (`tower.filename.<name>` for `template.<name>`)."""
    namespace = {key: value for key, value in inputs.items() if value not in ("", None)}
    for field in ctype["inputs"]["fields"]:
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    jinja = ImmutableSandboxedEnvironment()
    files = ctype["injectors"].get("file", {})
    filenames = {}
    for label, template in files.items():
        path = Path(directory) / ("%s-%s" % (re.sub(r"\W", "_", ctype["name"]), label))
        path.write_text(jinja.from_string(template).render(**namespace), encoding="utf-8")
        path.chmod(0o600)
        filenames[label.partition(".")[2]] = str(path)
    tower = {"filename": filenames if "template" not in files else filenames[""]}
    return {name: jinja.from_string(template).render(tower=tower, **namespace)
            for name, template in ctype["injectors"].get("env", {}).items()}


def run(argv, env=None):
    # A bound against a hang, not a margin: a whole role run takes minutes on a busy 2-core machine.
    result = subprocess.run([str(arg) for arg in argv], env=env, capture_output=True, text=True, timeout=1800,
                            check=False)
    return result.returncode, result.stdout + result.stderr


# --- credential types --------------------------------------------------------------------------------------------

def test_the_two_credential_types_inject_only_variables_the_modules_read():
    known = module_env_vars()
    assert {"AUTHENTIK_URL", "AUTHENTIK_TOKEN", "SALESFORCE_INSTANCE_URL"} <= known  # the parsing found them
    types = doc_blocks("credential-type")
    assert sorted(ct["name"] for ct in types) == ["Salesforce org", "authentik API"]
    for ctype in types:
        injected = set(ctype["injectors"]["env"])
        prefix = "AUTHENTIK_" if ctype["name"] == "authentik API" else "SALESFORCE_"
        assert injected <= known, "%s injects variables no module reads: %s" % (ctype["name"], injected - known)
        assert all(name.startswith(prefix) for name in injected)
        assert set(ctype["injectors"]) <= {"env", "file"}  # no extra_vars: nothing lands in the job's variables
        ids = [field["id"] for field in ctype["inputs"]["fields"]]
        assert len(ids) == len(set(ids)) and set(ctype["inputs"]["required"]) <= set(ids)
        assert ctype["kind"] == "cloud"


def test_the_injector_templates_name_only_declared_fields():
    """AWX refuses a credential type whose injectors use an undefined name; render them as it validates them."""
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for ctype in doc_blocks("credential-type"):
        namespace = {field["id"]: "EXAMPLE" for field in ctype["inputs"]["fields"]}
        files = ctype["injectors"].get("file", {})
        tower = {"filename": {label.partition(".")[2]: "/tmp/x" for label in files}}
        for template in list(files.values()) + list(ctype["injectors"]["env"].values()):
            strict.from_string(template).render(tower=tower, **namespace)


def test_secrets_are_secret_fields():
    for name, secrets in (("authentik API", {"token"}), ("Salesforce org", {"private_key", "client_secret"})):
        fields = {field["id"]: field for field in credential_type(name)["inputs"]["fields"]}
        assert {key for key, field in fields.items() if field.get("secret")} == secrets


def test_an_empty_optional_field_injects_an_empty_value(tmp_path):
    env = inject(credential_type("authentik API"), {"url": "https://a.example", "token": "t"}, tmp_path)
    assert env == {"AUTHENTIK_URL": "https://a.example", "AUTHENTIK_TOKEN": "t", "AUTHENTIK_CA_PATH": ""}
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    env = inject(credential_type("authentik API"), {"url": "u", "token": "t", "ca_certificate": pem}, tmp_path)
    assert Path(env["AUTHENTIK_CA_PATH"]).read_text(encoding="utf-8") == pem


# --- execution environment ---------------------------------------------------------------------------------------

def requirement_lines(path):
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ansible_builder_creates_a_context_from_the_collection_definition(tmp_path):
    """meta/execution-environment.yml, with its paths relative to the collection root as ansible-builder reads
    them for an installed collection: the same two files side by side."""
    (tmp_path / "execution-environment.yml").symlink_to(COLLECTION_ROOT / "meta" / "execution-environment.yml")
    (tmp_path / "requirements.txt").symlink_to(COLLECTION_ROOT / "requirements.txt")
    code, output = run([BIN / "ansible-builder", "create", "-f", tmp_path / "execution-environment.yml",
                        "-c", tmp_path / "context", "--output-filename", "Containerfile"])
    assert code == 0, output
    assert requirement_lines(tmp_path / "context" / "_build" / "requirements.txt") \
        == requirement_lines(COLLECTION_ROOT / "requirements.txt")
    containerfile = (tmp_path / "context" / "Containerfile").read_text(encoding="utf-8")
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.19 ansible-runner"' in containerfile
    assert "bindep" not in requirement_lines(COLLECTION_ROOT / "requirements.txt")


def test_ansible_builder_creates_a_context_from_the_documented_definition(tmp_path):
    definition = tmp_path / "execution-environment.yml"
    definition.write_text(yaml.safe_dump(doc_block("execution-environment")), encoding="utf-8")
    code, output = run([BIN / "ansible-builder", "create", "-f", definition, "-c", tmp_path / "context",
                        "--output-filename", "Containerfile"])
    assert code == 0, output
    galaxy = yaml.safe_load((tmp_path / "context" / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy == {"collections": [{"name": "sso.authentik"}]}


def test_ansible_builder_finds_the_collections_python_requirements():
    """What ansible-builder's introspection (run inside the image build) reads from the installed collection."""
    collections_root = COLLECTION_ROOT.parents[2]  # the folder that holds ansible_collections/
    code, output = run([BIN / "ansible-builder", "introspect", collections_root])
    assert code == 0, output
    found = yaml.safe_load(output)
    expected = ["%s  # from collection sso.authentik" % line
                for line in requirement_lines(COLLECTION_ROOT / "requirements.txt")]
    assert found["python"] == expected and found["system"] == []


# --- the job template recipe, against the sandboxes --------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """The sandboxes, licensed: the recipe provisions with SCIM in OAuth mode."""
    directory = Path(os.environ.get("AWX_SANDBOX_DIR") or tmp_path_factory.mktemp("sandbox"))
    world = sandboxes.SandboxSet(directory, enterprise=True)
    try:
        yield world.start()
    finally:
        world.stop()


def playbook(path, args, env):
    """ansible-playbook with nothing but `env`; asserts that it succeeded, returns its output."""
    result = playbooks.run(path, *args, env=env)
    assert result.rc == 0 and result.recap().get("failed") == 0, result.output
    return result.output


def test_the_job_templates_run_with_only_the_injected_environment(sandbox, tmp_path):
    env = sandbox.env
    project = tmp_path / "project"
    project.mkdir()
    for name in ("present", "remove"):
        (project / ("salesforce_sso_%s.yml" % name)).write_text(yaml.safe_dump(doc_block("playbook-" + name)))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": doc_block("inventory-host-vars")}}}))

    extra_vars = doc_block("extra-vars")
    assert not set(extra_vars) & ROLE_CONNECTION_VARS, "the job template's extra vars carry connection settings"
    # The documented values, but the group and the client credentials user of the sandbox org.
    extra_vars.update(salesforce_sso_access_groups=["authentik Admins"],
                      salesforce_sso_client_credentials_user=env["SALESFORCE_USERNAME"])
    extra_vars_file = tmp_path / "extra_vars.yml"
    extra_vars_file.write_text(yaml.safe_dump(extra_vars))

    # Sandbox only, as playbooks/demo.yml does: the org lets the Metadata API read consumer secrets.
    sandbox.sf.config(consumer_secret_readable=True)

    authentik = inject(credential_type("authentik API"),
                       {"url": env["AUTHENTIK_URL"], "token": env["AUTHENTIK_TOKEN"]}, tmp_path)
    salesforce = credential_type("Salesforce org")
    jwt = inject(salesforce, {"instance_url": env["SALESFORCE_INSTANCE_URL"],
                              "client_id": env["SALESFORCE_CLIENT_ID"], "username": env["SALESFORCE_USERNAME"],
                              "private_key": Path(env["SALESFORCE_PRIVATE_KEY_FILE"]).read_text()}, tmp_path)
    client_credentials = inject(salesforce, {"instance_url": env["SALESFORCE_INSTANCE_URL"],
                                             "client_id": env["SALESFORCE_CLIENT_ID"],
                                             "client_secret": env["SALESFORCE_CLIENT_SECRET"]}, tmp_path)
    # What a job's process has besides the credentials: no AUTHENTIK_* or SALESFORCE_* from this shell.
    base = {"PATH": "%s:%s" % (BIN, os.defpath), "HOME": os.environ["HOME"], "LANG": "C.UTF-8",
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"], "ANSIBLE_NOCOLOR": "1"}
    common = ["-i", inventory, "-e", "@%s" % extra_vars_file]

    output = playbook(project / "salesforce_sso_present.yml", common, {**base, **authentik, **jwt})
    assert "Salesforce login (ACS) URL: %s?so=" % env["SALESFORCE_INSTANCE_URL"] in output
    application = [app["slug"] for app in sandbox.ak.state()["objects"]["applications"]]
    salesforce_state = sandbox.sf.state()
    assert application == ["salesforce"]
    assert list(salesforce_state["metadata"]["SamlSsoConfig"]) == ["authentik"]
    assert list(salesforce_state["ecas"]) == ["authentik"]

    # The removal job, with the other Salesforce login (client credentials; the private key variable is empty).
    assert client_credentials["SALESFORCE_PRIVATE_KEY"] == "" and jwt["SALESFORCE_CLIENT_SECRET"] == ""
    playbook(project / "salesforce_sso_remove.yml", common, {**base, **authentik, **client_credentials})
    assert sandbox.ak.state()["objects"]["applications"] == []
    salesforce_state = sandbox.sf.state()
    assert not salesforce_state["metadata"]["SamlSsoConfig"] and not salesforce_state["ecas"]
