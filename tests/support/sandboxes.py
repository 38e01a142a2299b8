"""Sandboxes for the tests: start and stop them, wait for them, call their control APIs.

Every server is started by tests/sandbox/launch.py, the one place that knows how (a free port, a port file, a
session of its own, a bounded wait until it answers); this module only puts its functions to the tests' use.

    world = SandboxSet(directory, enterprise=True).start()   # the whole set, as `launch.py start` makes it
    world.ak.reset(); world.sf.requests(); world.logs(); world.state(); world.stop()
    server = authentik_server(directory, "2026.8", token="t", extra=["--check-responses"])
    salesforce = salesforce_server(directory, {"client_id": ...}, tls=tls_files)
    start(server, salesforce)                    # at once, each ready once it answers; stop(...) ends them
    server.control.reset()                       # Control: reset, requests, pending, state, config, faults, guard
    with check_mode_guard(server.control):       # any write that reaches it meanwhile fails the test
        ...
    recorder(directory, "other-host", host="127.0.0.2")  # tests/sandbox/recorder.py, started the same way

A control call that fails raises ControlError (HTTP status and body in its message).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import SANDBOX_SRC, waits


def _sandbox_module(name):
    """A module of tests/sandbox (launch), loaded once by path: that folder is not a package."""
    key = "sandbox_" + name
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, SANDBOX_SRC / (name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


launch = _sandbox_module("launch")
LaunchError = launch.LaunchError
AUTHENTIK_PROFILES = launch.AUTHENTIK_PROFILES
NEWEST = AUTHENTIK_PROFILES[-1]
# Start-up bound: several authentik-client imports at once on two busy cores take a while; only a hang reaches it.
START_TIMEOUT = 240.0
GUARD_WRITES = ("forbid", "allow")


class ControlError(RuntimeError):
    pass


class GuardViolation(AssertionError):
    """Writes reached a sandbox while its check-mode guard was armed."""


# --- control API -----------------------------------------------------------------------------------------------

class Control:
    """A client of one sandbox's control API (/_sandbox/..., not logged, no authentication)."""

    def __init__(self, url, name="sandbox", context=None, timeout=60):
        self.url = url.rstrip("/")
        self.name = name
        self.context = context
        self.timeout = timeout

    def __repr__(self):
        return "Control(%s %s)" % (self.name, self.url)

    def call(self, method, route, body=None, query=None):
        """The decoded JSON answer of METHOD /_sandbox/<route> (None for an empty one)."""
        url = self.url + "/_sandbox/" + route
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise ControlError("%s %s /_sandbox/%s: HTTP %d %s"
                               % (self.name, method, route, error.code, error.read()[:500])) from None
        return json.loads(text) if text.strip() else None

    def reset(self, **body):
        """Seeded state, empty log, no faults, the guard off and no violation."""
        self.call("POST", "reset", body)

    def requests(self, **query):
        return self.call("GET", "requests", query=query or None)

    def clear(self):
        """Forget the request log."""
        self.call("DELETE", "requests")

    def pending(self):
        return self.call("GET", "pending")

    def settle(self, deadline=waits.DEADLINE):
        """Wait until every request the sandbox received has been answered (its log and state are final)."""
        waits.settled(lambda route: self.call("GET", route), self.name, deadline)

    def settled_requests(self):
        self.settle()
        return self.requests()

    def state(self):
        return self.call("GET", "state")

    def settled_state(self):
        self.settle()
        return self.state()

    def config(self, **switches):
        """Set switches (none: read them); returns them all."""
        return self.call("POST", "config", switches) if switches else self.call("GET", "config")

    def add_faults(self, *rules):
        """Arm fault rules, in order (the first rule that matches a request takes it)."""
        return [self.call("POST", "faults", rule) for rule in rules]

    def faults(self):
        return self.call("GET", "faults")

    def clear_faults(self):
        self.call("DELETE", "faults")

    def guard(self, writes="forbid"):
        """Arm (forbid) or disarm (allow) the check-mode write guard; returns its state."""
        if writes not in GUARD_WRITES:
            raise ValueError("writes: one of %s" % (GUARD_WRITES,))
        return self.call("POST", "guard", {"writes": writes})

    def guard_state(self):
        """{"writes": "forbid" | "allow", "violations": [the writes refused while armed]}."""
        return self.call("GET", "guard")

    def clear_guard(self):
        """Disarm the guard and forget its violations."""
        self.call("DELETE", "guard")


@contextlib.contextmanager
def check_mode_guard(*controls):
    """Forbid writes on these sandboxes for the block (a run in check mode); GuardViolation if any arrived.

    The guard is disarmed and its record cleared at the end, whatever happened; an exception of the block wins over
    the violation (which its message usually shows already: the write was refused with an error)."""
    for control in controls:
        control.clear_guard()
        control.guard("forbid")
    try:
        yield
    except BaseException:
        _end_guard(controls)
        raise
    found = _end_guard(controls)
    if found:
        raise GuardViolation("writes in check mode: " + "; ".join(
            "%s: %s" % (name, ", ".join(describe_write(entry) for entry in entries))
            for name, entries in found.items()))


def _end_guard(controls):
    """Disarm the guards (once every request is answered); the violations found, by sandbox name."""
    found = {}
    for control in controls:
        control.settle()
        violations = control.guard_state()["violations"]
        control.clear_guard()
        if violations:
            found[control.name] = violations
    return found


def describe_write(entry):
    """'POST /api/v3/core/users/' or 'createMetadata SamlSsoConfig' (a log entry or a guard violation)."""
    if entry.get("operation") and entry.get("api") == "soap":
        return "%s %s" % (entry["operation"], ",".join(entry.get("types") or []))
    return "%s %s" % (entry["method"], entry["path"])


def writes(log):
    return [entry for entry in log if entry["write"]]


# --- single servers --------------------------------------------------------------------------------------------

class Server(launch.Server):
    """A server started through launch.py, with a client of its control API once it answers."""

    @property
    def control(self):
        if self.url is None:
            raise LaunchError("%s is not running" % self.name)
        return Control(self.url, self.name, self.context)


def _tls_arguments(tls):
    """tls: None, or {"cert", "key", "ca"} paths (support.certificates.tls_files())."""
    if not tls:
        return [], None
    return ["--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])], str(tls["ca"])


def authentik_server(directory, profile=NEWEST, token=None, enterprise=False, tls=None, extra=(), name=None):
    """An authentik sandbox server of `profile`, not started yet (see start())."""
    arguments, ca_file = _tls_arguments(tls)
    command = launch.authentik_command(profile, token, enterprise, arguments + list(extra))
    return Server(name or "authentik-" + profile, command, Path(directory), token, ca_file=ca_file)


def salesforce_server(directory, config, tls=None, extra=(), name="salesforce"):
    """A Salesforce sandbox server with `config` (written beside its log), not started yet."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / (name + ".json")
    launch.write_private(config_file, json.dumps(config, indent=2))
    arguments, ca_file = _tls_arguments(tls)
    return Server(name, launch.salesforce_command(config_file, arguments + list(extra)), directory, ca_file=ca_file)


def start(*servers, timeout=START_TIMEOUT):
    """Start the servers at once; returns them once every one answers (LaunchError with its log if one does not)."""
    launch.start_servers(list(servers), timeout)
    return servers[0] if len(servers) == 1 else servers


def stop(*servers):
    for server in servers:
        server.stop()


class Recorder(Server):
    """tests/sandbox/recorder.py: records every request it gets; control: requests, clear, reset, answer."""

    def requests(self):
        return self.control.call("GET", "requests")

    def clear(self):
        self.control.call("DELETE", "requests")

    def reset(self):
        self.control.call("POST", "reset")

    def answer(self, status=200, headers=None, body=""):
        """What it answers to every request from now on."""
        return self.control.call("POST", "answer", {"status": status, "headers": headers or {}, "body": body})


def recorder(directory, name="recorder", host="127.0.0.1", tls=None):
    """A recorder on `host` (any loopback address), plain HTTP or HTTPS with tls files; not started yet."""
    arguments, ca_file = _tls_arguments(tls)
    return Recorder(name, launch.recorder_command(host, arguments), Path(directory), host=host, ca_file=ca_file)


# --- a whole set (launch.py start) -------------------------------------------------------------------------------

class SandboxSet:
    """Every sandbox, as `launch.py start --dir DIR` starts them: the authentik profiles and the Salesforce sandbox.

    After start(): env (what env.json holds), ak (the newest authentik profile's Control), sf (the Salesforce
    sandbox's), authentik and salesforce (their URLs), private_key (the JWT key's text), profiles (Control by
    profile)."""

    def __init__(self, directory, enterprise=False, timeout=START_TIMEOUT, integration_config=None):
        self.directory = Path(directory)
        self.enterprise = enterprise
        self.timeout = timeout
        self.integration_config = integration_config
        self.env = {}
        self.ak = self.sf = None
        self.authentik = self.salesforce = ""
        self.private_key = ""
        self.profiles = {}

    def start(self):
        self.env = launch.start_set(self.directory, self.timeout, self.enterprise, self.integration_config,
                                    say=lambda text: None)
        self.authentik = self.env["AUTHENTIK_URL"]
        self.salesforce = self.env["SALESFORCE_SANDBOX_URL"]
        self.ak = Control(self.authentik, "authentik")
        self.sf = Control(self.salesforce, "salesforce")
        self.profiles = {profile: Control(self.env["AUTHENTIK_SANDBOX_%s_URL" % launch.env_key(profile)],
                                          "authentik " + profile) for profile in AUTHENTIK_PROFILES}
        self.private_key = Path(self.env["SALESFORCE_PRIVATE_KEY_FILE"]).read_text(encoding="utf-8")
        return self

    def stop(self):
        launch.stop_all(self.directory.resolve(), quiet=True)

    def controls(self):
        return [self.ak, self.sf]

    def reset(self, consumer_secret_readable=None):
        """Both sandboxes seeded again: no fault, empty logs; optionally the org lets the Metadata API read consumer
        secrets (as `make demo` does)."""
        self.ak.reset()
        self.sf.reset()
        if consumer_secret_readable is not None:
            self.sf.config(consumer_secret_readable=consumer_secret_readable)

    def clear_logs(self):
        self.ak.clear()
        self.sf.clear()

    def arm(self, authentik=(), salesforce=()):
        """Add fault rules (in order: the first rule that matches a request takes it)."""
        self.ak.add_faults(*authentik)
        if salesforce:
            self.sf.call("POST", "faults", list(salesforce))

    def disarm(self):
        self.ak.clear_faults()
        self.sf.clear_faults()

    def faults(self):
        return self.ak.faults(), self.sf.faults()

    def settle(self):
        """Wait until both sandboxes have answered every request they received: a request the client gave up on
        (a timeout) may still be sleeping through a delay rule, and be applied and logged later."""
        self.ak.settle()
        self.sf.settle()

    def logs(self):
        """Both request logs (authentik, Salesforce), once settled: every entry final."""
        self.settle()
        return self.ak.requests(), self.sf.requests()

    def state(self):
        """Both states, once settled: no request still on its way to changing them."""
        self.settle()
        return self.ak.state(), self.sf.state()

    def guard(self):
        """check_mode_guard() on both sandboxes."""
        return check_mode_guard(self.ak, self.sf)


def authentik_python(profile):
    """The interpreter of an authentik profile (AUTHENTIK_SANDBOX_PYTHON_<line>, which the Makefile sets)."""
    return launch.authentik_python(profile)


def require_pythons(profiles=AUTHENTIK_PROFILES):
    """In a pytest test: fail (not skip) unless the profiles' interpreters are set, since without them the sandbox
    tests cannot say anything, and that must be visible."""
    import pytest

    unknown = [profile for profile in profiles if profile not in AUTHENTIK_PROFILES]
    if unknown:
        raise ValueError("unknown authentik sandbox profile %r (known: %s)"
                         % (unknown[0], ", ".join(AUTHENTIK_PROFILES)))
    missing = missing_pythons(profiles)
    if missing:
        pytest.fail("%s not set to an existing interpreter; run the tests with make (make units...)"
                    % ", ".join(missing), pytrace=False)


def start_or_fail(*servers, timeout=START_TIMEOUT):
    """start() in a pytest test: a server that does not start fails the test with its log."""
    import pytest

    try:
        return start(*servers, timeout=timeout)
    except LaunchError as error:
        pytest.fail("sandbox did not start: %s" % error, pytrace=False)


def python_variable(profile):
    return "AUTHENTIK_SANDBOX_PYTHON_" + launch.env_key(profile)


def missing_pythons(profiles=AUTHENTIK_PROFILES):
    """The AUTHENTIK_SANDBOX_PYTHON_* variables that are not set to an existing interpreter."""
    return [python_variable(profile) for profile in profiles
            if not os.environ.get(python_variable(profile)) or not Path(os.environ[python_variable(profile)]).exists()]
