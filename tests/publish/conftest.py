"""Shared settings of the publish tests (`make publish`), all given by the Makefile in the environment.

PUBLISH_SOURCE     the repository (the work tree `make build` built the artifact from)
PUBLISH_ARTIFACT   the artifact of `make build`
PUBLISH_WORK       a scratch directory of this run (dirty checkouts, virtualenvs, collections paths, logs)
"""

import os
import subprocess
import tarfile
from pathlib import Path

import pytest


def setting(name):
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError("%s is not set: run these tests with `make publish`" % name)
    return value


def source_files(root):
    """The files of a checkout as `make collection` copies them: tracked, and untracked ones git does not ignore."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    return sorted(path for path in listed if path and (Path(root) / path).is_file())


def artifact_files(artifact):
    """The regular files in an artifact (its directory entries are checked to be parents of files)."""
    with tarfile.open(artifact) as tar:
        members = tar.getmembers()
    files = sorted(m.name for m in members if m.isfile())
    directories = {m.name.rstrip("/") for m in members if m.isdir()}
    parents = {str(Path(name).parent) for name in files} - {"."}
    parents |= {str(parent) for name in parents for parent in Path(name).parents if str(parent) != "."}
    assert directories == parents, "directory entries without files: %s" % sorted(directories - parents)
    assert not [m.name for m in members if not (m.isfile() or m.isdir())], "links or devices in the artifact"
    return files


@pytest.fixture(scope="session")
def source():
    return Path(setting("PUBLISH_SOURCE"))


@pytest.fixture(scope="session")
def artifact():
    path = Path(setting("PUBLISH_ARTIFACT"))
    assert path.is_file(), "%s does not exist: `make build` first" % path
    return path


@pytest.fixture(scope="session")
def work():
    path = Path(setting("PUBLISH_WORK"))
    path.mkdir(parents=True, exist_ok=True)
    return path
