# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machinery of the reliability tests: sandbox sets, role runs, request logs, fault rules and normalised states.

- ``Sandbox``: one set of sandboxes (support.sandboxes.SandboxSet: launch.py's set in a directory of its own;
  authentik 2026.8 is the one used, plus the Salesforce sandbox), with their control APIs (reset, faults, request
  log, state).
- ``Sandbox.run()`` / ``Sandbox.start_run()``: ``ansible-playbook -vvv --diff tests/reliability/site.yml``, the
  role with its variables as extra vars; a ``Run`` keeps stdout, stderr and the JSON events of the test callback.
  A run in check mode has the sandboxes' check-mode guard armed: a write that reaches either fails it.
- ``write_signature()``, ``normalise()``, ``duplicates()``: compare runs by what they wrote and states by names,
  not by generated ids, keys or ports.
- ``Lab``: runs the scenarios (functions registered with ``@scenario``) on a pool of sandbox sets, in parallel.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import support
from support import playbooks, sandboxes

HERE = Path(__file__).resolve().parent
COLLECTION_ROOT = support.COLLECTION_ROOT
PLAYBOOK = HERE / "site.yml"
CALLBACK_DIR = HERE / "callback_plugins"
# Bounded waits for the sandboxes to start (six authentik-client imports at once on two busy cores take a while).
START_TIMEOUT = 240

# Short, bounded retries for every run: transient faults must be absorbed quickly (the defaults are 4 retries).
RETRIES = 2
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Unexpected error in |MODULE FAILURE")


def collections_path() -> Path:
    """The folder holding ansible_collections/sso/authentik: the tests run from the build copy (make reliability)."""
    root = support.collections_path()
    if root is None:
        raise RuntimeError("run the reliability tests from the build copy .../ansible_collections/sso/authentik "
                           "(make reliability), not from %s" % COLLECTION_ROOT)
    return root


# --- runs ------------------------------------------------------------------------------------------------------

@dataclass
class Run:
    label: str
    rc: int
    stdout: str
    stderr: str
    json_log: str
    seconds: float
    check: bool = False
    ak_log: list = field(default_factory=list)
    sf_log: list = field(default_factory=list)
    secrets: set = field(default_factory=set)  # made by Salesforce during the run: access tokens, consumer secrets

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.json_log.splitlines() if line.strip()]

    @property
    def output(self) -> str:
        """Everything the run showed: stdout, stderr and the JSON callback's records."""
        return "\n".join((self.stdout, self.stderr, self.json_log))

    def failures(self) -> list[dict]:
        return [e for e in self.events if e["event"] in ("failed", "item_failed") and not e.get("ignore_errors")]

    def failed_task(self) -> str | None:
        failures = self.failures()
        return failures[0]["task"] if failures else None

    def failure_message(self) -> str:
        """The message of the first failure (of its first failed item for a loop). Ansible censors the result of a
        no_log task for callbacks but still prints the module's message in its error line: taken from there."""
        for event in self.failures():
            result = event["result"]
            if result.get("msg") and "One or more items failed" not in result["msg"]:
                return result["msg"]
            for item in result.get("results") or []:
                if item.get("failed") and item.get("msg"):
                    return item["msg"]
        error = re.search(r"^\[ERROR\]: Task failed: (?:Module failed: )?(.*)$", self.stdout + self.stderr, re.M)
        return error.group(1) if error else ""

    def recap(self) -> dict:
        stats = [e for e in self.events if e["event"] == "stats"]
        return stats[-1]["summary"].get("localhost", {}) if stats else {}

    def describe(self) -> str:
        tail = "\n".join(self.stdout.splitlines()[-40:])
        return "run %s: rc=%d, %.1fs, failed task %r: %s\n--- stdout (tail)\n%s\n--- stderr\n%s" % (
            self.label, self.rc, self.seconds, self.failed_task(), self.failure_message()[:600], tail,
            self.stderr[-2000:])


class RunHandle:
    """A role run in progress (start_run); wait() gives the Run."""

    def __init__(self, sandbox, label, process, json_log, check, started):
        self.sandbox, self.label, self.process, self.json_log = sandbox, label, process, json_log
        self.check, self.started = check, started
        # Read the output as it comes: a run whose -vvv output fills its pipe would block until someone reads it,
        # and two runs at once would no longer run at once.
        self._output = {"stdout": [], "stderr": []}
        self._readers = [threading.Thread(target=lambda s=stream, k=key: self._output[k].append(s.read()),
                                          daemon=True)
                         for key, stream in (("stdout", process.stdout), ("stderr", process.stderr))]
        for reader in self._readers:
            reader.start()

    def started_tasks(self) -> list[str]:
        """The names of the tasks the run has started so far (from the test callback's records)."""
        try:
            lines = self.json_log.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        names = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the line being written
            if event.get("event") == "task_start":
                names.append(event.get("task", "").rpartition(" : ")[2])
        return names

    def signal(self, number):
        """Send a signal to the run's process and every process under it (workers, modules)."""
        for pid in [self.process.pid] + _descendants(self.process.pid):
            try:
                os.kill(pid, number)
            except ProcessLookupError:
                pass

    def wait(self, timeout=1800) -> Run:  # a bound against a hang (runs take minutes on a busy machine)
        self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout)
        stdout, stderr = "".join(self._output["stdout"]), "".join(self._output["stderr"])
        seconds = time.monotonic() - self.started
        json_text = self.json_log.read_text(encoding="utf-8") if self.json_log.exists() else ""
        for suffix, text in ((".stdout", stdout), (".stderr", stderr)):  # kept for post-mortems
            (self.json_log.parent / (self.label + suffix)).write_text(text, encoding="utf-8")
        run = Run(self.label, self.process.returncode, stdout, stderr, json_text, seconds, self.check)
        self.sandbox.lab.record(run, self.sandbox)
        return run


def _descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def lockstep(handles: list[RunHandle], tasks: list[str], deadline=1800.0, interval=0.05):
    """Keep runs of the same play in step: a run that starts one of `tasks` (in their order in the play) is held
    (SIGSTOP) until every other run still going has started it too; then they all go on at once (SIGCONT). Returns
    once every run has ended. Started at the same moment, two runs drift apart by however long their start-up
    took on a busy machine; held like this, they meet at each of those tasks whatever the load."""
    held = set()
    end = time.monotonic() + deadline
    try:
        while any(handle.process.poll() is None for handle in handles):
            alive = [handle for handle in handles if handle.process.poll() is None]
            reached = {}
            for handle in alive:
                started = handle.started_tasks()
                reached[handle] = next((n for n, task in enumerate(tasks) if task not in started), len(tasks))
            level = min(reached.values())
            for handle in alive:
                if reached[handle] > level and handle not in held and time.monotonic() < end:
                    handle.signal(signal.SIGSTOP)
                    handle.signal(signal.SIGSTOP)  # a process forked meanwhile
                    held.add(handle)
                elif handle in held and (reached[handle] == level or time.monotonic() >= end):
                    handle.signal(signal.SIGCONT)
                    held.discard(handle)
            time.sleep(interval)
    finally:
        for handle in held:
            handle.signal(signal.SIGCONT)


# --- sandboxes -------------------------------------------------------------------------------------------------

class Sandbox:
    """One set of sandboxes (launch.py's set in DIR) and what a scenario does with it; ak and sf are the URLs of the
    authentik (2026.8) and Salesforce sandboxes."""

    def __init__(self, lab: "Lab", directory: Path):
        self.lab = lab
        self.dir = directory
        self.runs_dir = directory / "runs"
        # Licensed: every scenario runs the whole role, SCIM in OAuth mode included.
        self.sandboxes = sandboxes.SandboxSet(directory, enterprise=True, timeout=START_TIMEOUT)
        self.env: dict[str, str] = {}
        self.ak = self.sf = ""
        self.private_key = ""

    # -- life cycle
    def start(self):
        shutil.rmtree(self.runs_dir, ignore_errors=True)  # a previous session's runs
        self.runs_dir.mkdir(parents=True)
        self.sandboxes.start()
        self.env = self.sandboxes.env
        self.ak = self.sandboxes.authentik  # the 2026.8 profile
        self.sf = self.sandboxes.salesforce
        self.private_key = self.sandboxes.private_key
        # Random per start: unique markers of the secrets every run is given.
        self.lab.add_marker(self.env["AUTHENTIK_TOKEN"], "authentik token")
        self.lab.add_marker(self.env["SALESFORCE_CLIENT_SECRET"], "Salesforce client secret")
        self.lab.add_marker(self.private_key, "JWT private key")

    def stop(self):
        self.sandboxes.stop()

    # -- control APIs
    def reset(self, consumer_secret_readable=True):
        """Both sandboxes seeded again, no fault, empty logs; the org lets the Metadata API read consumer secrets."""
        self.sandboxes.reset(consumer_secret_readable=consumer_secret_readable)

    def config(self, **switches):
        self.sandboxes.sf.config(**switches)

    def arm(self, authentik=(), salesforce=()):
        """Add fault rules (in order: the first rule that matches a request takes it)."""
        self.sandboxes.arm(authentik, salesforce)

    def disarm(self):
        self.sandboxes.disarm()

    def faults(self):
        return self.sandboxes.faults()

    def clear_logs(self):
        self.sandboxes.clear_logs()

    def settle(self):
        """Wait until both sandboxes have answered every request they received: a request the client gave up on
        (a timeout) may still be sleeping through a delay rule, and be applied and logged later."""
        self.sandboxes.settle()

    def logs(self):
        """Both request logs, once settled: every entry final."""
        return self.sandboxes.logs()

    def state(self):
        """Both states, once settled: no request still on its way to changing them."""
        return self.sandboxes.state()

    def client_credentials_token(self):
        """An access token obtained outside the role (client credentials), as a user would give it."""
        form = {"grant_type": "client_credentials", "client_id": self.env["SALESFORCE_CLIENT_ID"],
                "client_secret": self.env["SALESFORCE_CLIENT_SECRET"]}
        request = urllib.request.Request(self.sf + "/services/oauth2/token",
                                         data=urllib.parse.urlencode(form).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["access_token"]

    # -- role runs
    def role_vars(self, **overrides) -> dict:
        """The full role (SAML, OAuth source, SCIM) with a JWT bearer login from the key's text."""
        username = self.env["SALESFORCE_USERNAME"]
        values = {
            "salesforce_sso_authentik_url": self.ak,
            "salesforce_sso_authentik_token": self.env["AUTHENTIK_TOKEN"],
            "salesforce_sso_instance_url": self.sf,
            "salesforce_sso_client_id": self.env["SALESFORCE_CLIENT_ID"],
            # Given although the JWT login wins: a secret that is passed along must not show either.
            "salesforce_sso_client_secret": self.env["SALESFORCE_CLIENT_SECRET"],
            "salesforce_sso_username": username,
            "salesforce_sso_private_key": self.private_key,
            "salesforce_sso_access_groups": ["authentik Admins"],
            "salesforce_sso_preview_user": "jdoe",
            "salesforce_sso_oauth_source": True,
            "salesforce_sso_client_credentials_user": username,
            "salesforce_sso_scim": True,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value is not None}

    def start_run(self, label, overrides=None, check=False, env=None, role_vars=None) -> RunHandle:
        label = self.lab.unique_label(label)
        variables = role_vars if role_vars is not None else self.role_vars(**(overrides or {}))
        extra_vars = playbooks.write_vars(self.runs_dir / (label + ".vars.json"), variables)
        json_log = self.runs_dir / (label + ".jsonl")
        json_log.unlink(missing_ok=True)
        environ = playbooks.clean_env({
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path()),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "reliability_json",
            "RELIABILITY_JSON_LOG": str(json_log),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.runs_dir / "tmp"),
            "AUTHENTIK_RETRIES": str(RETRIES),
            "SALESFORCE_RETRIES": str(RETRIES),
        })
        environ.update(env or {})
        process = playbooks.start(PLAYBOOK, "-e", extra_vars, env=environ, cwd=HERE, check=check, diff=True,
                                  verbosity=3)
        return RunHandle(self, label, process, json_log, check, time.monotonic())

    def run(self, label, overrides=None, check=False, env=None, role_vars=None, logs=True) -> Run:
        """One role run from a clear request log; the run keeps both logs. In check mode the sandboxes' guard
        forbids writes for the run: one that arrives fails it (sandboxes.GuardViolation)."""
        if logs:
            self.clear_logs()
        guard = self.sandboxes.guard() if check else contextlib.nullcontext()
        with guard:
            run = self.start_run(label, overrides, check, env, role_vars).wait()
        if logs:
            run.ak_log, run.sf_log = self.logs()
            run.secrets = self.issued_secrets(run.sf_log)
        return run

    def issued_secrets(self, sf_log) -> set[str]:
        """Secrets Salesforce made: access tokens (the SOAP session ids of the log) and generated consumer secrets."""
        found = set()
        for entry in sf_log:
            if isinstance(entry.get("body"), str):
                found.update(re.findall(r"<met:sessionId>([^<]+)</met:sessionId>", entry["body"]))
        _ak_state, sf_state = self.state()
        for app in (sf_state.get("ecas") or {}).values():
            secret = (app.get("ExtlClntAppGlobalOauthSettings") or {}).get("consumerSecret")
            if secret:
                found.add(secret)
        return found


def secret_pieces(secret: str) -> list[str]:
    """What of a secret must never show: the whole of it, and pieces that would betray it (the lines of a PEM
    body, the tail of a token, which also holds when a message cuts it short)."""
    secret = secret.strip()
    if "-----BEGIN" in secret:
        return [line for line in secret.splitlines() if "-----" not in line and len(line) >= 32]
    pieces = [secret]
    if len(secret) >= 32:
        pieces += [secret[-24:], secret[8:32]]
    return pieces


# --- request logs ----------------------------------------------------------------------------------------------

def ak_writes(log) -> list[dict]:
    return [entry for entry in log if entry["write"]]


def sf_writes(log) -> list[dict]:
    return [entry for entry in log if entry["write"]]


def write_signature(side: str, entry: dict) -> tuple:
    """What a write did, without ids: ('authentik', 'POST', '/api/v3/providers/saml/') or
    ('salesforce', 'upsertMetadata', 'ExtlClntAppOauthSettings')."""
    if side == "authentik":
        path = re.sub(r"/(\d+|%s)/" % UUID.pattern, "/{id}/", entry["path"])
        return side, entry["method"], path
    return side, entry["operation"], ",".join(entry.get("types") or [])


def answered(entry) -> bool:
    """Whether the server processed the request (no fault rule answered it; a delay-only rule lets it through)."""
    return entry.get("fault") in (None, "delay")


def signatures(ak_log, sf_log, include_faulted=True) -> list[tuple]:
    """Writes of both logs (each in its own order; authentik first), as signatures."""
    out = []
    for side, log in (("authentik", ak_log), ("salesforce", sf_log)):
        out += [write_signature(side, e) for e in log if e["write"] and (include_faulted or answered(e))]
    return out


def faulted(log) -> list[dict]:
    """Requests that a fault rule answered."""
    return [entry for entry in log if not answered(entry)]


def match_key(signature: tuple) -> tuple:
    """What of a write a fault rule can match: authentik by method and path, Salesforce by operation only."""
    return signature if signature[0] == "authentik" else signature[:2]


# Fault rules that match one write, as the sandboxes can (see match_key).
def rule_for(signature: tuple, **fault) -> tuple[str, dict]:
    side = signature[0]
    if side == "authentik":
        _side, method, path = signature
        pattern = "^" + re.escape(path).replace(re.escape("{id}"), "[^/]+") + "$"
        return side, dict({"method": method, "path": pattern}, **fault)
    return side, dict({"api": "soap", "operation": signature[1]}, **fault)


def pass_through(signature: tuple, times: int) -> tuple[str, dict]:
    """A rule that takes the next `times` matching writes and lets them through (a 1 ms delay, nothing else)."""
    return rule_for(signature, delay=0.001, times=times)


# --- states ----------------------------------------------------------------------------------------------------

INT_REFS = {"provider": "providers", "backchannel_providers": "providers", "user": "users"}
SECRET_FIELDS = {"consumer_secret", "key_data", "token", "consumerSecret"}
VOLATILE = {"settings_writes", "counters", "switches", "faults", "security_settings"}


def _name(obj: dict) -> str:
    for key in ("slug", "username", "name", "fullName", "Username"):
        if obj.get(key):
            return str(obj[key])
    return "?"


def normalise(ak_state: dict, sf_state: dict, ak_url: str, sf_url: str) -> dict:
    """Both states by names: ids replaced by the names of the objects they point to, secrets by whether they are
    set, and what differs from one sandbox start to the next (ports, generated certificate, keys) by placeholders."""
    labels = {}
    for collection, objects in ak_state["objects"].items():
        for obj in objects:
            for key in ("pk", "uuid"):
                if isinstance(obj.get(key), str):
                    labels[obj[key]] = "@%s:%s" % (collection, _name(obj))
    int_labels = {(collection, obj["pk"]): "@%s:%s" % (collection, _name(obj))
                  for collection, objects in ak_state["objects"].items() for obj in objects
                  if isinstance(obj.get("pk"), int)}

    def label(value, collection=None):
        if isinstance(value, list):
            return [label(v, collection) for v in value]
        if collection and isinstance(value, int):
            return int_labels.get((collection, value), "@%s:?" % collection)
        if isinstance(value, str) and value in labels:
            return labels[value]
        return value

    def clean(obj, collection):
        out = {}
        for key, value in obj.items():
            if key in SECRET_FIELDS:
                out[key] = "<set>" if value else "<empty>"
            elif key in ("pk", "uuid", "num_pk"):
                continue
            elif key in INT_REFS and collection in ("applications", "policy_bindings"):
                out[key] = label(value, INT_REFS[key])
            else:
                out[key] = label(value)
        return out

    authentik = {}
    for collection, objects in ak_state["objects"].items():
        rows = [clean(obj, collection) for obj in objects]
        authentik[collection] = sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))
    sync = {int_labels.get(("providers", int(pk)), pk): count for pk, count in ak_state.get("sync_count", {}).items()}
    salesforce = {key: value for key, value in sf_state.items() if key not in VOLATILE}
    salesforce["users"] = [{k: v for k, v in user.items() if not k.endswith("Date")} for user in sf_state["users"]]
    normal = {"authentik": authentik, "scim_syncs": sync, "salesforce": salesforce}

    text = json.dumps(normal, sort_keys=True)
    replacements = {ak_url: "<authentik>", sf_url: "<salesforce>"}
    for cert in ak_state["objects"].get("certificates", []):
        body = "".join(line for line in cert.get("certificate_data", "").splitlines() if "-----" not in line)
        if body:
            replacements[body] = "<certificate %s>" % cert["name"]
    for app in (sf_state.get("ecas") or {}).values():
        generated = app.get("ExtlClntAppGlobalOauthSettings") or {}
        for key, placeholder in (("consumerKey", "<consumer key>"), ("consumerSecret", "<consumer secret>")):
            if generated.get(key):
                replacements[generated[key]] = placeholder
    for old, new in replacements.items():
        text = text.replace(json.dumps(old)[1:-1], new)
    normal = json.loads(text)
    # PEM text left after the replacements (the certificates' own data) says nothing more: its name does.
    for row in normal["authentik"].get("certificates", []):
        row.pop("certificate_data", None)
    return normal


def duplicates(ak_state: dict, sf_state: dict) -> list[str]:
    """Objects that exist more than once under the same name (bindings: the same subject on the same target)."""
    found = []
    for collection, objects in ak_state["objects"].items():
        if collection == "policy_bindings":
            keys = [(o["target"], o.get("group"), o.get("user"), o.get("policy")) for o in objects]
        else:
            keys = [(o.get("_kind"), _name(o)) for o in objects]
        found += ["authentik %s %s x%d" % (collection, key, n) for key, n in Counter(keys).items() if n > 1]
    for type_name, records in (sf_state.get("metadata") or {}).items():
        names = [record.get("fullName") for record in records.values()]
        found += ["salesforce %s %s x%d" % (type_name, key, n) for key, n in Counter(names).items() if n > 1]
    names = [user["Username"].lower() for user in sf_state.get("users", [])]
    found += ["salesforce User %s x%d" % (key, n) for key, n in Counter(names).items() if n > 1]
    return found


def state_difference(expected: dict, actual: dict) -> list[str]:
    """Paths where two normalised states differ (at most 20), for assertion messages."""
    out = []

    def walk(a, b, path):
        if len(out) >= 20:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    out.append("%s/%s: %s" % (path, key, "missing" if key not in b else "unexpected"))
                else:
                    walk(a[key], b[key], "%s/%s" % (path, key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, "%s[%d]" % (path, index))
        elif a != b:
            out.append("%s: expected %s, got %s" % (path, json.dumps(a)[:200], json.dumps(b)[:200]))

    walk(expected, actual, "")
    return out


# --- the lab: sandboxes, scenarios, the record of every run ----------------------------------------------------

SCENARIOS: dict[str, callable] = {}


def scenario(name):
    """Register a scenario: fn(lab, sandbox) -> outcome (any value); tests read it with lab.result(name)."""
    def register(fn):
        SCENARIOS[name] = fn
        return fn
    return register


class Lab:
    def __init__(self, directory: Path, workers: int):
        self.dir = directory
        self.workers = workers
        self.sandboxes: list[Sandbox] = []
        self.free: queue.Queue = queue.Queue()
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.futures = {}
        self.lock = threading.Lock()
        self.runs: list[tuple[Run, Sandbox]] = []
        self.labels = Counter()
        self.started = time.monotonic()
        self.timings = {}
        self.markers: dict[str, str] = {}  # secret -> what it is; no run may show any of them

    def add_marker(self, secret: str, what: str):
        with self.lock:
            self.markers[secret] = what

    def start(self):
        self.sandboxes = [Sandbox(self, self.dir / ("sandbox%d" % index)) for index in range(self.workers)]
        with ThreadPoolExecutor(max_workers=self.workers) as starter:
            list(starter.map(Sandbox.start, self.sandboxes))
        for sandbox in self.sandboxes:
            self.free.put(sandbox)

    def stop(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
        for sandbox in self.sandboxes:
            sandbox.stop()

    def unique_label(self, label):
        with self.lock:
            self.labels[label] += 1
            return label if self.labels[label] == 1 else "%s-%d" % (label, self.labels[label])

    def record(self, run: Run, sandbox: Sandbox):
        with self.lock:
            self.runs.append((run, sandbox))

    def submit(self, names):
        for name in names:
            if name not in self.futures:
                self.futures[name] = self.pool.submit(self._run_scenario, name)

    def _run_scenario(self, name):
        sandbox = self.free.get()
        started = time.monotonic()
        try:
            sandbox.disarm()
            sandbox.reset()
            return SCENARIOS[name](self, sandbox)
        finally:
            self.timings[name] = time.monotonic() - started
            self.free.put(sandbox)

    def result(self, name):
        if name not in self.futures:
            self.submit([name])
        return self.futures[name].result()

    def leaks(self, run: Run) -> list[str]:
        """The secrets (or telling pieces of them) that a run's stdout, stderr or JSON records show."""
        text = run.output
        found = []
        secrets = dict(self.markers)
        secrets.update({secret: "secret made by Salesforce in the run" for secret in run.secrets})
        for secret, what in secrets.items():
            for piece in secret_pieces(secret):
                if piece in text:
                    found.append("%s (%s...)" % (what, piece[:6]))
                    break
        return found

    def report(self) -> str:
        """Durations of the scenarios and of every run, for the terminal summary."""
        lines = ["reliability: %d role runs on %d sandbox sets in %.0fs" % (
            len(self.runs), self.workers, time.monotonic() - self.started)]
        for name, seconds in sorted(self.timings.items(), key=lambda item: -item[1]):
            lines.append("  %-28s %6.1fs" % (name, seconds))
        total = sum(run.seconds for run, _sandbox in self.runs)
        lines.append("  sum of run times %.0fs; runs: %s" % (total, ", ".join(
            "%s %.0fs" % (run.label, run.seconds) for run, _sandbox in sorted(self.runs, key=lambda r: -r[0].seconds))))
        return "\n".join(lines)

    def wait_all(self):
        for future in list(self.futures.values()):
            try:
                future.result()
            except Exception:  # noqa: BLE001 - reported by the test that reads that scenario
                pass
