"""The bad-input matrix (cases.py): each bad input fails with a message naming it, no traceback, no write."""

import json
import re
from pathlib import Path

import pytest
from cases import CASES, CONTROLS, ROLE, markdown
from support import COLLECTION_ROOT, collections_path, playbooks

HERE = Path(__file__).resolve().parent
COLLECTIONS_PATH = str(collections_path())  # the folder holding ansible_collections
MODULES = COLLECTION_ROOT / "plugins" / "modules"
SALESFORCE_MODULES = ("salesforce_login", "salesforce_org_info", "salesforce_sso_settings",
                      "salesforce_saml_sso_config", "salesforce_external_client_app")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Unexpected error|MODULE FAILURE")


def render(value, context):
    """Replace <<name>> placeholders (whole values keep their type: None stays None)."""
    if isinstance(value, str):
        return re.sub(r"<<(\w+)>>", lambda match: str(context[match.group(1)]), value)
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    return value


def connection(target, context):
    if target in SALESFORCE_MODULES:
        return {"instance_url": context["salesforce_url"], "client_id": context["client_id"],
                "username": context["username"], "private_key_file": context["jwt_key_file"], "ca_path": context["ca"]}
    return {"url": context["authentik_url"], "token": context["token"], "ca_path": context["ca"]}


def clean_environment(extra=None):
    """The environment without the collection's own variables (the options come from the case alone)."""
    return playbooks.clean_env(dict({"PYTHONPATH": COLLECTIONS_PATH}, **(extra or {})))


def run_module(item, context, tmp_path):
    """Run the module as Ansible does (arguments in a JSON file); returns (result dict, whole output)."""
    args = connection(item["target"], context)
    args.update(render(item["conn"], context))
    args.update(render(item["args"], context))
    args = {key: value for key, value in args.items() if value is not None}
    return playbooks.run_module(MODULES / (item["target"] + ".py"), args, tmp_path, clean_environment())


def role_variables(context):
    return {"salesforce_sso_authentik_url": context["authentik_url"],
            "salesforce_sso_authentik_token": context["token"],
            "salesforce_sso_instance_url": context["salesforce_url"],
            "salesforce_sso_client_id": context["client_id"],
            "salesforce_sso_username": context["username"],
            "salesforce_sso_private_key_file": context["jwt_key_file"],
            "salesforce_sso_preview_user": "jdoe"}


def run_role(variables, context, tmp_path, env=None):
    """One ansible-playbook run of the role; returns (failure result of the failed task or {}, output, rc)."""
    environment = clean_environment(dict({"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
                                          "AUTHENTIK_CA_PATH": context["ca"], "SALESFORCE_CA_PATH": context["ca"]},
                                         **(env or {})))
    result = playbooks.run(HERE / "role.yml", "-e", playbooks.write_vars(tmp_path / "vars.json", variables),
                           env=environment, cwd=tmp_path, timeout=600)
    # The failed task's result: `fatal: [localhost]: FAILED! => {...}`, or one `failed: [localhost] (item=...) =>
    # {...}` line per failed item of a loop.
    messages = result.failures()
    return {"msg": " | ".join(messages)} if messages else {}, result.output, result.rc


def clear_logs(sandboxes):
    for name in ("authentik", "salesforce"):
        sandboxes[name].control.clear()


def read_logs(sandboxes):
    return {name: sandboxes[name].control.requests() for name in ("authentik", "salesforce")}


def check_logs(item, logs):
    """Nothing written on either side; nothing sent at all before any request or at the TLS handshake."""
    writes = ["%s: %s %s" % (name, entry["method"], entry.get("operation") or entry["path"])
              for name, entries in logs.items() for entry in entries if entry["write"]]
    assert not writes, "%s wrote: %s" % (item["id"], writes)
    sent = ["%s: %s %s" % (name, entry["method"], entry["path"]) for name, entries in logs.items() for entry in entries]
    if item["stage"] in ("input", "tls"):
        assert not sent, "%s is refused %s, yet sent: %s" % (item["id"], item["stage"], sent)
    else:
        assert sent, "%s is refused after reading, yet sent nothing (is its stage right?)" % item["id"]


def check_failure(item, context, result, output):
    expect = render(item["expect"], context)
    assert result.get("failed"), "%s did not fail: %s" % (item["id"], json.dumps(result)[:1500])
    message = str(result.get("msg", ""))
    assert expect in message, "%s: expected %r in the message, got %r" % (item["id"], expect, message)
    assert not TRACEBACK.search(output), "%s: traceback or module failure in the output:\n%s" % (item["id"], output)
    assert "exception" not in result, "%s: the result carries an exception" % item["id"]
    for secret in ("token", "client_secret"):
        assert context[secret] not in output, "%s: the %s appears in the output" % (item["id"], secret)
    for key in ("one_key", "other_key", "expired_key"):
        body = context[key].splitlines()[1]
        assert body not in output, "%s: a private key appears in the output" % item["id"]


MODULE_CASES = [item for item in CASES if item["target"] != ROLE]
ROLE_CASES = [item for item in CASES if item["target"] == ROLE]


def test_matrix_size():
    assert len(CASES) >= 30
    assert len({item["id"] for item in CASES + CONTROLS}) == len(CASES + CONTROLS), "case ids must be unique"


def test_documentation_is_current():
    doc = COLLECTION_ROOT / "docs" / "bad-inputs.md"
    assert doc.exists() and doc.read_text(encoding="utf-8") == markdown(), \
        "docs/bad-inputs.md is out of date: python tests/bad_inputs/cases.py > docs/bad-inputs.md"


@pytest.mark.parametrize("item", MODULE_CASES, ids=[item["id"] for item in MODULE_CASES])
def test_module_refuses(item, context, sandboxes, tmp_path):
    clear_logs(sandboxes)
    result, output = run_module(item, context, tmp_path)
    logs = read_logs(sandboxes)
    check_failure(item, context, result, output)
    check_logs(item, logs)


@pytest.mark.parametrize("item", CONTROLS, ids=[item["id"] for item in CONTROLS])
def test_control_succeeds(item, context, sandboxes, tmp_path):
    clear_logs(sandboxes)
    result, output = run_module(item, context, tmp_path)
    logs = read_logs(sandboxes)
    assert not result.get("failed"), "%s failed: %s" % (item["id"], result.get("msg"))
    assert not [entry for entries in logs.values() for entry in entries if entry["write"]]


@pytest.fixture(scope="module")
def converged(context, sandboxes, tmp_path_factory):
    """The integration as the role makes it, so that the role cases start from an existing setup."""
    failure, output, code = run_role(role_variables(context), context, tmp_path_factory.mktemp("converge"))
    assert code == 0, "the role did not converge:\n" + output[-4000:]
    return True


@pytest.mark.parametrize("item", ROLE_CASES, ids=[item["id"] for item in ROLE_CASES])
def test_role_refuses(item, context, sandboxes, converged, tmp_path):
    variables = dict(role_variables(context), **render(item["args"], context))
    clear_logs(sandboxes)
    failure, output, code = run_role(variables, context, tmp_path, env=item["env"])
    logs = read_logs(sandboxes)
    assert code != 0, "%s: the role did not fail:\n%s" % (item["id"], output[-3000:])
    check_failure(item, context, dict(failure, failed=True), output)
    check_logs(item, logs)
