"""Run the ansible-test integration targets in parallel shards, each with its own build copy and sandboxes.

    integration_shards.py COLLECTION SHARDS PYTHON_VERSION

The targets reset and inspect the sandboxes, so shards never share one. Each shard is a copy of the built
collection under .build/shard<N>/ansible_collections/sso/authentik (ansible-test needs that path shape) and a set
of sandboxes started with tests/sandbox/launch.py --dir .sandbox/shard<N>. Shards get targets by their weight
(slowest first, each to the lightest shard), so that they end at about the same time. Every shard's output is
printed when it ends; the exit status is non-zero if any shard failed.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Seconds each target took on one core (measured); unknown targets count as 30.
WEIGHTS = {
    "role_salesforce_sso": 135, "certificate_keypair": 46, "saml_provider": 45, "guide_authentik": 90,
    "scim_provider": 39, "salesforce_external_client_app": 34, "salesforce_saml_sso_config": 33, "application": 29,
    "saml_property_mapping": 28, "application_binding": 28, "scim_property_mapping": 24,
    "certificate_keypair_info": 24, "saml_provider_info": 22, "salesforce_sso_settings": 19, "guide_salesforce": 18,
    "oauth_source": 17, "salesforce_login": 12, "salesforce_org_info": 10,
}


def targets():
    found = []
    for path in sorted((ROOT / "tests" / "integration" / "targets").iterdir()):
        aliases = (path / "aliases").read_text() if (path / "aliases").exists() else ""
        if path.is_dir() and not path.name.startswith("setup_") and "hidden" not in aliases.split():
            found.append(path.name)
    return found


def split(names, count):
    shards = [[] for _shard in range(count)]
    for name in sorted(names, key=lambda n: -WEIGHTS.get(n, 30)):
        min(shards, key=lambda s: sum(WEIGHTS.get(n, 30) for n in s)).append(name)
    return [shard for shard in shards if shard]


def main():
    collection, count, python = pathlib.Path(sys.argv[1]).resolve(), int(sys.argv[2]), sys.argv[3]
    launch = [sys.executable, str(ROOT / "tests" / "sandbox" / "launch.py")]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    runs = []
    try:
        for number, names in enumerate(split(targets(), count), 1):
            base = ROOT / ".build" / ("shard%d" % number)
            copy = base / "ansible_collections" / "sso" / "authentik"
            shutil.rmtree(base, ignore_errors=True)
            shutil.copytree(collection, copy, symlinks=True, ignore=shutil.ignore_patterns("output"))
            sandbox = ROOT / ".sandbox" / ("shard%d" % number)
            config = copy / "tests" / "integration" / "integration_config.yml"
            subprocess.run(launch + ["--dir", str(sandbox), "start", "--integration-config", str(config)],
                           check=True, stdout=subprocess.DEVNULL)
            log = open(base / "integration.log", "w+")
            shard_env = dict(env, ANSIBLE_COLLECTIONS_PATH=str(base))
            process = subprocess.Popen(
                ["ansible-test", "integration", "--local", "--python", python, "--color", "no"] + names,
                cwd=copy, env=shard_env, stdout=log, stderr=subprocess.STDOUT)
            runs.append((number, names, sandbox, log, process, time.monotonic()))
            print("integration shard %d: %s" % (number, " ".join(names)), flush=True)
        failed = False
        for number, names, _sandbox, log, process, started in runs:
            status = process.wait()
            log.seek(0)
            took = time.monotonic() - started
            print("---- shard %d (%s): exit %d after %.0fs ----" % (number, " ".join(names), status, took))
            print(log.read(), flush=True)
            failed = failed or status != 0
        return 1 if failed else 0
    finally:
        for _number, _names, sandbox, _log, process, _started in runs:
            if process.poll() is None:
                process.terminate()
            subprocess.run(launch + ["--dir", str(sandbox), "stop"], stdout=subprocess.DEVNULL, check=False)


if __name__ == "__main__":
    sys.exit(main())
