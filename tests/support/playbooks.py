"""ansible-playbook runs for the suites: a clean environment, the command, the recap and the failures.

    env = clean_env({"ANSIBLE_COLLECTIONS_PATH": path})   # no AUTHENTIK_* / SALESFORCE_* of the caller's shell
    result = run(playbook, "-e", "@vars.json", env=env)   # Result: rc, stdout, stderr, seconds, recap(), failures()
    process = start(playbook, env=env)                    # the same, running (stdout and stderr are pipes)
    parse_recap(text)                                     # {host: {"ok": 3, "changed": 0, ...}} of the last recap
    result, output = run_module(path, args, directory, env)   # one module run as Ansible runs it, no playbook

ansible-playbook is the one beside this interpreter (the tools' virtualenv).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent  # not resolved: a virtualenv's python is a symlink
# The variables the modules and the role read: never inherited from whoever runs the tests (the sandbox
# interpreters' AUTHENTIK_SANDBOX_PYTHON_* are not connection settings and stay).
CONNECTION_ENV = re.compile(r"^(AUTHENTIK_(?!SANDBOX_PYTHON_)|SALESFORCE_)")
NO_COLOUR = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1"}
# e.g. "localhost : ok=12   changed=0    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")
FAILURE_LINE = re.compile(r"^(?:fatal: \[[^\]]+\]: FAILED!|failed: \[[^\]]+\] \(item=.*?\)) => ", re.MULTILINE)


def tool(name):
    """An Ansible command of this virtualenv: ansible-playbook, ansible-builder..."""
    return BIN / name


def clean_env(extra=None, base=None):
    """`base` (default: this process's environment) without the collection's connection variables and without
    colour, then `extra` (a value of None removes that variable)."""
    env = {key: value for key, value in (os.environ if base is None else base).items()
           if not CONNECTION_ENV.match(key)}
    env.update(NO_COLOUR)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def write_vars(path, variables):
    """Extra variables as a JSON file only the owner may read (they hold secrets); returns "@path" for -e."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    return "@" + str(path)


def command(playbook, *args, check=False, diff=False, verbosity=0):
    argv = [str(tool("ansible-playbook"))] + (["-" + "v" * verbosity] if verbosity else [])
    argv += (["--diff"] if diff else []) + [str(playbook)] + [str(arg) for arg in args]
    return argv + (["--check"] if check else [])


def parse_recap(text):
    """{host: {counter: value}} from the last PLAY RECAP of an output ({} when there is none)."""
    if "PLAY RECAP" not in text:
        return {}
    hosts = {}
    for line in text.rpartition("PLAY RECAP")[2].splitlines()[1:]:
        match = RECAP_LINE.match(line.strip())
        if not match:
            if hosts:
                break
            continue
        counts = dict(item.split("=") for item in match.group("counts").split())
        hosts[match.group("host")] = {key: int(value) for key, value in counts.items()}
    return hosts


def failure_messages(text):
    """The `msg` of every `fatal: [host]: FAILED! => {...}` line, and of every failed loop item, in order."""
    messages = []
    for match in FAILURE_LINE.finditer(text):
        try:
            result = json.JSONDecoder().raw_decode(text[match.end():])[0]
        except ValueError:
            continue
        messages.append(str(result.get("msg", "")) if isinstance(result, dict) else str(result))
    return messages


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self):
        return self.stdout + self.stderr

    def recap(self, host="localhost"):
        return parse_recap(self.stdout).get(host, {})

    def failures(self):
        return failure_messages(self.output)

    @property
    def ok(self):
        """It ran to its end with no failed or unreachable host."""
        hosts = parse_recap(self.stdout)
        return self.rc == 0 and bool(hosts) and not any(
            counts.get("failed", 0) or counts.get("unreachable", 0) for counts in hosts.values())


def run(playbook, *args, env, cwd=None, timeout=1800, check=False, diff=False, verbosity=0):
    """Run a playbook to its end (a bound against a hang: a whole role run takes minutes on a busy 2-core machine)
    with exactly `env`; returns its Result."""
    started = time.monotonic()
    done = subprocess.run(command(playbook, *args, check=check, diff=diff, verbosity=verbosity), env=env,
                          cwd=None if cwd is None else str(cwd), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def start(playbook, *args, env, cwd=None, check=False, diff=False, verbosity=0):
    """The same run in the background: a Popen whose stdout and stderr are text pipes (read them as it goes)."""
    return subprocess.Popen(command(playbook, *args, check=check, diff=diff, verbosity=verbosity), env=env,
                            cwd=None if cwd is None else str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_module(module, args, directory, env, timeout=300):
    """Run a module file as Ansible runs it: its arguments in a JSON file (only the owner may read it) in
    `directory`, which is also its working directory. Returns (result, output): the JSON result (failed set when
    the exit status says so; a result of its own when there is no JSON) and stdout + stderr."""
    args_file = Path(directory) / "args.json"
    write_vars(args_file, {"ANSIBLE_MODULE_ARGS": args})
    done = subprocess.run([sys.executable, str(module), str(args_file)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(directory), check=False)
    output = done.stdout + done.stderr
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {"failed": True, "msg": "(no JSON result) " + output[-2000:]}
    if done.returncode:
        result["failed"] = True
    return result, output
