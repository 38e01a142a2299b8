"""The Galaxy artifact holds exactly what belongs in it, whatever else lies in the work tree.

The expectation is written here independently of galaxy.yml's `manifest` directives: whole directories and named
files, where the directives select by file name. A file someone adds to a shipped directory (a role template, a
plugin's sidecar documentation) that the directives miss fails the test, and so does anything else that gets in.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

from conftest import artifact_files, source_files

# What ships: these files, the whole of these directories, and the guides of docs/ (Markdown and their images).
SHIPPED_FILES = {
    "README.md", "LICENSE", "CHANGELOG.rst", "requirements.txt",
    "meta/runtime.yml", "meta/execution-environment.yml",
    "changelogs/changelog.yaml", "changelogs/config.yaml",
}
SHIPPED_DIRECTORIES = ("plugins/", "roles/", "playbooks/", "docs/docsite/")
SHIPPED_GUIDES = re.compile(r"docs/[^/]+\.(md|png)")
# The demo runs against the sandboxes of tests/, which do not ship.
NOT_SHIPPED = {"playbooks/demo.yml"}
# ansible-galaxy's own files.
GENERATED = {"MANIFEST.json", "FILES.json"}

# A bound that a stray virtualenv, cache or build copy would break by far (today's artifact: about 230 KB).
MAX_BYTES = 512 * 1024
MAX_UNPACKED_BYTES = 2 * 1024 * 1024

# What a developer's checkout holds besides the sources after `make demo`, `make test`, an editor and a build.
JUNK = [
    ".venv/bin/python3", ".venv/lib/python3.11/site-packages/ansible/__init__.py",
    ".venvs/authentik-2026.8/lib/python3.11/site-packages/authentik_client/__init__.py",
    ".venvs/core-2.21/pyvenv.cfg", ".ruff_cache/0.14.0/123456", ".build/ansible_collections/sso/authentik/README.md",
    ".build/ansible_collections/sso/authentik/plugins/modules/application.py", ".sandbox/env.sh",
    ".sandbox/publish/authentik-2026.8.log", "tests/output/junit/python3.12-modules.xml",
    "tests/integration/integration_config.yml", "plugins/modules/__pycache__/application.cpython-311.pyc",
    "plugins/module_utils/__pycache__/_engine.cpython-312.pyc", "plugins/module_utils/_engine.pyc",
    ".pytest_cache/v/cache/nodeids", ".hypothesis/examples/0123abcd/fedc", "roles/salesforce_sso/tasks/.main.yml.swp",
    "roles/salesforce_sso/tasks/main.yml~", "playbooks/.DS_Store", "plugins/modules/.application.py.swp",
    "changelogs/.plugin-cache.yaml", "docs/site/_build/index.html", "sso-authentik-0.0.9.tar.gz",
    "extensions/molecule/default/.molecule/state.yml", ".git/config", ".idea/workspace.xml",
    "importer_result.json",
]


def expected(sources):
    keep = {path for path in sources
            if path in SHIPPED_FILES or path.startswith(SHIPPED_DIRECTORIES) or SHIPPED_GUIDES.fullmatch(path)}
    return sorted((keep - NOT_SHIPPED) | GENERATED)


def build(checkout, output):
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    subprocess.run([str(galaxy), "collection", "build", "--force", "--output-path", str(output)],
                   cwd=checkout, check=True, capture_output=True)
    (artifact,) = output.glob("sso-authentik-*.tar.gz")
    return artifact


def check_artifact(artifact, sources):
    files = artifact_files(artifact)
    want = expected(sources)
    assert files == want, "artifact %s:\n  not expected: %s\n  missing: %s" % (
        artifact, sorted(set(files) - set(want)), sorted(set(want) - set(files)))
    size = artifact.stat().st_size
    with tarfile.open(artifact) as tar:
        unpacked = sum(member.size for member in tar.getmembers())
    assert size <= MAX_BYTES and unpacked <= MAX_UNPACKED_BYTES, (size, unpacked)
    print("artifact %s: %d files, %d bytes (%d unpacked)" % (artifact.name, len(files), size, unpacked))
    return files


def test_a_build_in_a_dirty_checkout_holds_exactly_what_ships(source, work):
    sources = source_files(source)
    checkout = work / "dirty-checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    for path in sources:
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, checkout / path)
    for path in JUNK:
        assert path not in sources
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text("junk that must not ship\n" * 200, encoding="utf-8")
    output = work / "dirty-dist"
    shutil.rmtree(output, ignore_errors=True)
    files = check_artifact(build(checkout, output), sources)
    assert not set(files) & set(JUNK)


def test_the_artifact_of_make_build_holds_exactly_what_ships(source, artifact):
    check_artifact(artifact, source_files(source))


def test_the_artifact_carries_release_notes_of_every_fragment(source, artifact):
    with tarfile.open(artifact) as tar:
        changes = yaml.safe_load(tar.extractfile("changelogs/changelog.yaml"))
        notes = tar.extractfile("CHANGELOG.rst").read().decode()
    with open(source / "galaxy.yml", encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    fragments = sorted(Path(path).name for path in source_files(source)
                       if re.fullmatch(r"changelogs/fragments/[^/]+\.ya?ml", path))
    assert fragments and sorted(changes["releases"][version]["fragments"]) == fragments
    assert re.search(r"^v%s\n=+\n" % re.escape(version), notes, re.M) and "Release Summary" in notes


def test_the_artifact_carries_the_licence_and_the_supported_range(source, artifact):
    with tarfile.open(artifact) as tar:
        licence = tar.extractfile("LICENSE").read().decode()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        runtime = tar.extractfile("meta/runtime.yml").read().decode()
    assert licence == (source / "LICENSE").read_text(encoding="utf-8")
    assert licence.lstrip().startswith("GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007")
    assert "END OF TERMS AND CONDITIONS" in licence
    info = manifest["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"] and info["license_file"] is None
    assert (info["namespace"], info["name"]) == ("sso", "authentik")
    # The floor claimed is the oldest ansible-core that test_install.py runs the guide with.
    floor = re.search(r'^requires_ansible: ">=(\d+\.\d+\.\d+)"$', runtime, re.M)
    assert floor, runtime
    assert os.environ["PUBLISH_CORE_OLDEST"] == "ansible-core==" + floor.group(1)
