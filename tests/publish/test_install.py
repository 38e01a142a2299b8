"""A user installs the built artifact with the oldest and with the newest supported ansible-core and runs the guide.

For each: a fresh virtualenv with only that ansible-core and the artifact's own requirements.txt, the artifact
installed with that ansible-galaxy into a fresh collections path (nothing of the checkout on any path), then
both halves of the guide from the installed collection against the sandboxes, as the README says to run them:
`ansible-playbook sso.authentik.authentik_guide`, tests/publish/certificate.yml (the signing certificate into a
file), `ansible-playbook sso.authentik.salesforce_guide -e salesforce_idp_certificate_file=...`; all that twice:
the first time makes the objects, the second changes nothing and sends no write to either sandbox. (Each playbook
is one play, run on its own: with several plays in one run, ansible-core 2.19.0 was seen to hang under load, its
results thread dead of a KeyError for the first task of the next play.)

PUBLISH_CORE_OLDEST / _NEWEST     the pip requirement of ansible-core (the oldest is exactly requires_ansible's floor)
PUBLISH_PYTHON_OLDEST / _NEWEST   the interpreter each virtualenv is made from
PUBLISH_PIP_PYTHON                an interpreter whose pip installs into them (`pip --python`)
PUBLISH_LAUNCH_PYTHON             the interpreter of tests/sandbox/launch.py (the tools' virtualenv)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import setting

HERE = Path(__file__).resolve().parent
CHECK_RECAP = HERE.parent / "utils" / "check_recap.py"
ORG_ID_15 = "00DSB0000000001"


def request(method, url, body=None):
    data = None if method == "GET" else json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, method=method, data=data, headers=headers),
                                timeout=30) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def run(command, log, timeout=300, **kwargs):
    started = time.monotonic()
    try:
        done = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False,
                              timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as error:
        parts = (error.stdout, error.stderr)
        output = "".join(part.decode() if isinstance(part, bytes) else part or "" for part in parts)
        log.write_text(output, encoding="utf-8")
        message = "%s did not end within %d s, see %s:\n%s" % (command[0], timeout, log, output[-4000:])
        raise AssertionError(message) from error
    log.write_text("$ %s\n%s%s" % (" ".join(map(str, command)), done.stdout, done.stderr), encoding="utf-8")
    assert done.returncode == 0, "%s failed (%d), see %s:\n%s" % (command[0], done.returncode, log,
                                                                  (done.stdout + done.stderr)[-4000:])
    print("  %-60s %5.1f s" % (log.name, time.monotonic() - started))
    return done.stdout


@pytest.fixture(scope="module")
def sandboxes(source, work):
    directory = work / "sandbox"
    launch = [setting("PUBLISH_LAUNCH_PYTHON"), str(source / "tests" / "sandbox" / "launch.py")]
    subprocess.run(launch + ["start", "--dir", str(directory), "--integration-config", ""], check=True,
                   capture_output=True)
    try:
        yield json.loads((directory / "env.json").read_text(encoding="utf-8"))
    finally:
        subprocess.run(launch + ["stop", "--dir", str(directory)], check=False, capture_output=True)


def fresh_user(which, artifact, work):
    """A virtualenv with ansible-core and the artifact's requirements only, and the artifact installed."""
    home = work / ("user-" + which)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    venv = home / "venv"
    run([setting("PUBLISH_PYTHON_" + which.upper()), "-m", "venv", "--without-pip", venv], home / "venv.log")
    with tarfile.open(artifact) as tar:
        (home / "requirements.txt").write_bytes(tar.extractfile("requirements.txt").read())
    core = setting("PUBLISH_CORE_" + which.upper())
    run([setting("PUBLISH_PIP_PYTHON"), "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
         "--no-compile", core, "-r", home / "requirements.txt"], home / "pip.log")
    collections = home / "collections"
    run([venv / "bin" / "ansible-galaxy", "collection", "install", artifact, "-p", collections],
        home / "galaxy-install.log", env=user_env(venv, collections, home, {}))
    return home, venv, collections


def user_env(venv, collections, home, sandbox):
    """The environment of a user's shell: that virtualenv, that collections path, the sandboxes' connection."""
    env = {key: value for key, value in os.environ.items()
           if not re.match(r"(ANSIBLE|AUTHENTIK|SALESFORCE|PYTHON)", key) and key != "VIRTUAL_ENV"}
    env.update(PATH="%s:/usr/local/bin:/usr/bin:/bin" % (venv / "bin"), VIRTUAL_ENV=str(venv),
               ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_NOCOLOR="1", NO_COLOR="1", ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
               ANSIBLE_HOME=str(home / "ansible-home"))
    if sandbox:
        env.update(AUTHENTIK_URL=sandbox["AUTHENTIK_URL"], AUTHENTIK_TOKEN=sandbox["AUTHENTIK_TOKEN"],
                   SALESFORCE_INSTANCE_URL=sandbox["SALESFORCE_SANDBOX_URL"],
                   SALESFORCE_CLIENT_ID=sandbox["SALESFORCE_CLIENT_ID"],
                   SALESFORCE_USERNAME=sandbox["SALESFORCE_USERNAME"],
                   SALESFORCE_PRIVATE_KEY_FILE=sandbox["SALESFORCE_PRIVATE_KEY_FILE"])
    return env


@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_the_guide_runs_twice_from_the_installed_artifact(which, artifact, work, sandboxes):
    print("\n%s supported ansible-core (%s):" % (which, setting("PUBLISH_CORE_" + which.upper())))
    home, venv, collections = fresh_user(which, artifact, work)
    env = user_env(venv, collections, home, sandboxes)

    # That ansible-core, and sso.authentik from that collections path only.
    version = run([venv / "bin" / "ansible", "--version"], home / "ansible-version.log", env=env, cwd=home)
    wanted = setting("PUBLISH_CORE_" + which.upper())
    core = re.search(r"\[core (\d+\.\d+\.\d+)\]", version).group(1)
    exact = re.match(r"ansible-core==(.+)$", wanted)
    if exact:
        assert core == exact.group(1)
    else:
        assert core.startswith(re.search(r">=(\d+\.\d+)", wanted).group(1) + "."), (core, wanted)
    listing = json.loads(run([venv / "bin" / "ansible-galaxy", "collection", "list", "sso.authentik",
                              "--format", "json"], home / "collection-list.log", env=env, cwd=home))
    assert listing == {str(collections / "ansible_collections"): {"sso.authentik": {"version": "0.1.0"}}}

    authentik, salesforce = sandboxes["AUTHENTIK_URL"], sandboxes["SALESFORCE_SANDBOX_URL"]
    for url in (authentik, salesforce):
        request("POST", url + "/_sandbox/reset")
    # The guide provisions with SCIM in OAuth mode, which needs an enterprise licence (the sandbox starts without).
    request("POST", authentik + "/_sandbox/config", {"enterprise": True})
    shutil.copyfile(HERE / "certificate.yml", home / "certificate.yml")
    pem = "salesforce_idp_certificate_file=%s" % (home / "authentik-signing.pem")
    playbook = venv / "bin" / "ansible-playbook"
    steps = [("authentik", [playbook, "sso.authentik.authentik_guide"]),
             ("certificate", [playbook, "certificate.yml", "-e", pem]),
             ("salesforce", [playbook, "sso.authentik.salesforce_guide", "-e", pem])]

    first = {}
    for name, command in steps:
        first[name] = run(command, home / ("first-%s.log" % name), env=env, cwd=home)
        run([sys.executable, CHECK_RECAP, home / ("first-%s.log" % name)], home / ("first-%s-recap.log" % name))
    for name in ("authentik", "salesforce"):
        assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0", first[name]), name

    for url in (authentik, salesforce):
        request("DELETE", url + "/_sandbox/requests")
    second = {}
    for name, command in steps:
        second[name] = run(command, home / ("second-%s.log" % name), env=env, cwd=home)
        run([sys.executable, CHECK_RECAP, home / ("second-%s.log" % name), "--expect-unchanged"],
            home / ("second-%s-recap.log" % name))
    writes = [entry for url in (authentik, salesforce) for entry in request("GET", url + "/_sandbox/requests")
              if entry.get("write")]
    assert writes == [], "the second run wrote: %s" % writes
    assert "Identity Provider Login URL: %s/application/saml/salesforce/sso/binding/post/" % authentik \
        in second["authentik"]
    assert "ACS URL for authentik: %s?so=%s" % (salesforce, ORG_ID_15) in second["salesforce"]
