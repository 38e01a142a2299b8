"""The release notes of the version in galaxy.yml, generated from the changelog fragments.

    changelog.py --write      regenerate changelogs/changelog.yaml and CHANGELOG.rst (`make changelog`)
    changelog.py --check      fail if they are not what the fragments give
    changelog.py --stage DIR  copy the collection to DIR/ansible_collections/sso/authentik with its release notes
                              generated there (`make build` builds the artifact from that copy)

The collection has not been released yet, so its one release is generated anew from every fragment (they are
kept: changelogs/config.yaml has keep_fragments), in a copy of the collection, with the release date already
recorded (today's on the first run). antsibull-changelog reads the new modules' and the role's descriptions with
ansible-doc, so it needs the copy under ansible_collections/sso/authentik. Run it with the interpreter of the
environment that holds antsibull-changelog and ansible-core.
"""

import argparse
import datetime
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ("changelogs/changelog.yaml", "CHANGELOG.rst")


def version():
    with open(ROOT / "galaxy.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def release_date(release):
    with open(ROOT / "changelogs" / "changelog.yaml", encoding="utf-8") as handle:
        releases = (yaml.safe_load(handle) or {}).get("releases") or {}
    recorded = (releases.get(release) or {}).get("release_date")
    return str(recorded) if recorded else datetime.date.today().isoformat()


def generate(tmp):
    """Generate the release in a copy of the collection under tmp; return {output path: text}."""
    collection = Path(tmp) / "ansible_collections" / "sso" / "authentik"
    shutil.rmtree(collection, ignore_errors=True)
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for path in listed:
        if path and (ROOT / path).is_file():
            (collection / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, collection / path)
    release = version()
    date = release_date(release)
    (collection / "changelogs" / "changelog.yaml").write_text("ancestor: null\nreleases: {}\n", encoding="utf-8")
    (collection / "CHANGELOG.rst").unlink(missing_ok=True)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=tmp, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([os.path.join(bin_dir, "antsibull-changelog"), "release", "--version", release, "--date", date],
                   cwd=collection, env=env, check=True)
    return {name: (collection / name).read_text(encoding="utf-8") for name in OUTPUTS}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--stage", metavar="DIR")
    args = parser.parse_args(argv)

    if args.stage:
        generated = generate(str(Path(args.stage).resolve()))
        print("changelog: %s generated in %s" % (" and ".join(generated), args.stage))
        return 0
    with tempfile.TemporaryDirectory(prefix="sso-authentik-changelog-") as tmp:
        generated = generate(tmp)
    stale = []
    for name, text in generated.items():
        path = ROOT / name
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        if args.write:
            path.write_text(text, encoding="utf-8")
            print("changelog: wrote %s" % name)
        else:
            stale.append(name)
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       name + " (committed)", name + " (from the fragments)", n=1))
    if stale:
        print("changelog: %s not what the fragments give: run `make changelog` and commit them" % " and ".join(stale))
        return 1
    sections = re.findall(r"^(\S.*)\n-+\n", generated["CHANGELOG.rst"], re.M)
    print("changelog: %s %s is up to date (%s)" % (version(), OUTPUTS, ", ".join(sections)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
