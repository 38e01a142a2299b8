"""Start, stop and inspect the local API sandboxes that the tests and the demo run against.

    launch.py start  [--dir .sandbox] [--timeout 180] [--integration-config PATH] [--enterprise]
    launch.py stop   [--dir .sandbox]
    launch.py status [--dir .sandbox]

`start` runs five servers in the background, each on a free port of 127.0.0.1:
  authentik-<line>   tests/sandbox/authentik/server.py --profile <line>  (python of .venvs/authentik-<line>),
                     for each line of AUTHENTIK_PROFILES: 2025.12, 2026.2, 2026.5, 2026.8
  salesforce         tests/sandbox/salesforce/server.py --config ...     (this interpreter)
The authentik servers have no enterprise licence unless --enterprise is given (or a test turns it on through
POST /_sandbox/config), as most real servers have none.
It generates the Salesforce JWT key pair and self-signed certificate, waits until every server has written its
port file and answers GET /_sandbox/requests, then writes into --dir:
  <name>.pid, <name>.port, <name>.log      per server
  salesforce-jwt.key / salesforce-jwt.crt  the JWT bearer private key (for the client) and its certificate
  salesforce.json                          the Salesforce sandbox's configuration
  env.json, env.sh                         connection settings as environment variables (env.sh: `. env.sh`),
                                           including AUTHENTIK_URL (the 2026.8 profile) and SALESFORCE_INSTANCE_URL
and the same settings as variables into ansible-test's integration_config.yml: authentik_sandboxes (the oldest and
the newest profile, on which every target runs) and authentik_release_lines (all of them, for the guide playbook).
A `start` first stops whatever a previous `start` left running. `stop` ends the servers (their whole process groups)
and removes the state files.

The tests start sandboxes through the functions here too (tests/support/sandboxes.py): `start_set()` is `start`,
`Server` and `start_servers()` start single servers (over TLS, with other options, the recorder).

The interpreters of the authentik profiles can be overridden with AUTHENTIK_SANDBOX_PYTHON_2025_12, _2026_2, ...
"""

import argparse
import json
import os
import secrets
import shlex
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SRC = ROOT / "tests" / "sandbox"
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the one certificate builder of the tests

from support import certificates  # noqa: E402
DEFAULT_INTEGRATION_CONFIG = (
    ROOT / ".build" / "ansible_collections" / "sso" / "authentik" / "tests" / "integration" / "integration_config.yml"
)
AUTHENTIK_PROFILES = ("2025.12", "2026.2", "2026.5", "2026.8")
# Every integration target runs on these two; the profiles between them run the guide playbook.
FULL_PROFILES = (AUTHENTIK_PROFILES[0], AUTHENTIK_PROFILES[-1])
SERVER_NAMES = tuple("authentik-" + profile for profile in AUTHENTIK_PROFILES) + ("salesforce",)
# Files that belong to one run of the sandboxes (removed by `stop`); logs stay for post-mortems.
STATE_FILES = ("env.json", "env.sh", "salesforce.json")

# Fixed, recognisable identities of the sandbox org; the secrets are random per start.
SALESFORCE_ORG_ID_15 = "00DSB0000000001"
SALESFORCE_USERNAME = "admin@sandbox.sso-authentik.test"


class LaunchError(Exception):
    pass


def salesforce_id18(id15: str) -> str:
    """Salesforce's case-safe 18-character form of a 15-character id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for start in range(0, 15, 5):
        chunk = id15[start:start + 5]
        suffix += alphabet[sum(1 << i for i, char in enumerate(chunk) if char.isupper())]
    return id15 + suffix


def env_key(profile: str) -> str:
    return profile.replace(".", "_")


def write_private(path: Path, data: str) -> None:
    """Write a file that only the owner may read (keys, secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)


def generate_jwt_credentials(directory: Path) -> tuple[Path, str]:
    """Create an RSA key and a self-signed certificate for the JWT bearer flow; return (key path, cert PEM)."""
    key = certificates.new_key()
    cert_pem = certificates.cert_pem(certificates.certificate("sso-authentik-sandbox-jwt", key, days=365))
    key_path = directory / "salesforce-jwt.key"
    write_private(key_path, certificates.key_pem(key))
    (directory / "salesforce-jwt.crt").write_text(cert_pem, encoding="utf-8")
    return key_path, cert_pem


def authentik_python(profile: str) -> str:
    override = os.environ.get("AUTHENTIK_SANDBOX_PYTHON_" + env_key(profile))
    python = Path(override) if override else ROOT / ".venvs" / ("authentik-" + profile) / "bin" / "python"
    if not python.exists():
        raise LaunchError("no interpreter for the authentik %s sandbox at %s (run `make venv`)" % (profile, python))
    return str(python)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def is_our_server(pid: int) -> bool:
    """True if pid is alive (not a zombie) and runs one of the sandbox servers (guards against reused pids)."""
    try:
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().replace(b"\0", b" ")
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and b"server.py" in cmdline


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM the server's process group (it leads its own session), then SIGKILL if it does not go."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not is_our_server(pid):
                return
            time.sleep(0.05)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text[-lines:]) or "    (empty log)"


def probe(url: str, token: str | None, context: ssl.SSLContext | None = None) -> bool:
    request = urllib.request.Request(url + "/_sandbox/requests")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


class Server:
    """One server process (a sandbox or the recorder): started on a free port, ready once it answers.

    command: the server's command line, without --port and --port-file (added here). host: where it listens
    (its --host, if any, is part of the command). ca_file: it serves HTTPS with a certificate this CA signed (its
    --tls-cert / --tls-key are part of the command)."""

    def __init__(self, name: str, command: list[str], directory: Path, token: str | None = None,
                 host: str = "127.0.0.1", ca_file: str | None = None):
        self.name = name
        self.command = [str(part) for part in command]
        self.token = token
        self.host = host
        self.directory = Path(directory)
        self.ca_file = str(ca_file) if ca_file else None
        self.context = ssl.create_default_context(cafile=self.ca_file) if ca_file else None
        self.pid_file = self.directory / (name + ".pid")
        self.port_file = self.directory / (name + ".port")
        self.log_file = self.directory / (name + ".log")
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        with open(self.log_file, "wb") as log:
            # A session of its own: the server outlives this launcher, and `stop` can end its whole group.
            self.process = subprocess.Popen(
                self.command + ["--port", "0", "--port-file", str(self.port_file)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.pid_file.write_text("%d\n" % self.process.pid)

    def poll_ready(self) -> bool:
        """True once the port file is there and the server answers; LaunchError if the process died."""
        code = self.process.poll()
        if code is not None:
            raise LaunchError("%s exited with code %d while starting" % (self.name, code))
        try:
            port = int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            return False  # not written yet (or half-written)
        url = "%s://%s:%d" % ("https" if self.context else "http", self.host, port)
        if probe(url, self.token, self.context):
            self.url = url
            return True
        return False

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop a server that this process started (SIGTERM to its group, SIGKILL if it does not go) and reap it;
        returns its exit code (None if it was never started)."""
        if self.process is not None and self.process.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.pid_file.unlink(missing_ok=True)
        self.port_file.unlink(missing_ok=True)
        return None if self.process is None else self.process.wait(timeout=timeout)


def wait_ready(servers: list["Server"], timeout: float) -> None:
    """Wait until every started server answers; LaunchError (with the log's tail) when one dies or is too slow."""
    deadline = time.monotonic() + timeout
    pending = list(servers)
    while pending:
        for server in list(pending):
            try:
                if server.poll_ready():
                    pending.remove(server)
            except LaunchError as error:
                raise LaunchError("%s; last lines of %s:\n%s" % (error, server.log_file, log_tail(server.log_file)))
        if pending and time.monotonic() > deadline:
            raise LaunchError("\n".join(
                "%s did not answer within %ss; last lines of %s:\n%s"
                % (server.name, timeout, server.log_file, log_tail(server.log_file))
                for server in pending))
        if pending:
            time.sleep(0.1)


def start_servers(servers: list["Server"], timeout: float) -> list["Server"]:
    """Start the servers at once and wait until every one answers; if one does not, stop them all and raise."""
    try:
        for server in servers:
            server.start()
        wait_ready(servers, timeout)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def authentik_command(profile: str, token: str | None = None, enterprise: bool = False, extra=()) -> list[str]:
    """The command line of an authentik sandbox server of `profile` (its profile's interpreter)."""
    command = [authentik_python(profile), str(SANDBOX_SRC / "authentik" / "server.py"), "--profile", profile]
    if token:
        command.append("--token=" + token)  # = : a random token may start with '-'
    if enterprise:
        command.append("--enterprise")
    return command + [str(part) for part in extra]


def salesforce_command(config_file: Path, extra=()) -> list[str]:
    """The command line of a Salesforce sandbox server with the configuration in config_file."""
    return [sys.executable, str(SANDBOX_SRC / "salesforce" / "server.py"), "--config", str(config_file)] + \
        [str(part) for part in extra]


def recorder_command(host: str = "127.0.0.1", extra=()) -> list[str]:
    """The command line of a recorder (tests/sandbox/recorder.py) on `host`; it ends with the process that started
    it."""
    return [sys.executable, str(SANDBOX_SRC / "recorder.py"), "--host", host, "--exit-with-parent"] + \
        [str(part) for part in extra]


def stop_all(directory: Path, quiet: bool = False) -> None:
    for name in SERVER_NAMES:
        pid_file = directory / (name + ".pid")
        pid = read_pid(pid_file)
        if pid is not None and is_our_server(pid):
            stop_pid(pid)
            if not quiet:
                print("sandbox: stopped %s (pid %d)" % (name, pid))
        pid_file.unlink(missing_ok=True)
        (directory / (name + ".port")).unlink(missing_ok=True)
    for name in STATE_FILES:
        (directory / name).unlink(missing_ok=True)


def write_integration_config(path: Path, env: dict[str, str]) -> None:
    # JSON is valid YAML: no YAML library needed here.
    config = {
        "authentik_sandboxes": [
            {"profile": profile, "url": env["AUTHENTIK_SANDBOX_%s_URL" % env_key(profile)]}
            for profile in FULL_PROFILES
        ],
        "authentik_release_lines": [
            {"profile": profile, "url": env["AUTHENTIK_SANDBOX_%s_URL" % env_key(profile)]}
            for profile in AUTHENTIK_PROFILES
        ],
        "authentik_token": env["AUTHENTIK_TOKEN"],
        "salesforce_url": env["SALESFORCE_SANDBOX_URL"],
        "salesforce_client_id": env["SALESFORCE_CLIENT_ID"],
        "salesforce_client_secret": env["SALESFORCE_CLIENT_SECRET"],
        "salesforce_username": env["SALESFORCE_USERNAME"],
        "salesforce_private_key_file": env["SALESFORCE_PRIVATE_KEY_FILE"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, "# Written by tests/sandbox/launch.py start\n" + json.dumps(config, indent=2) + "\n")


def start_set(directory: Path, timeout: float = 180.0, enterprise: bool = False,
              integration_config: str | None = None, say=print) -> dict[str, str]:
    """Start the whole set (see the module's docstring) in `directory`; returns the settings written to env.json."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    stop_all(directory, quiet=True)  # whatever a previous start left behind

    token = secrets.token_urlsafe(32)
    key_path, cert_pem = generate_jwt_credentials(directory)
    salesforce = {
        "org_id": salesforce_id18(SALESFORCE_ORG_ID_15),
        "jwt_certificate": cert_pem,
        "client_id": "3MVG9sandbox" + secrets.token_hex(16),
        "client_secret": secrets.token_hex(32),
        "username": SALESFORCE_USERNAME,
    }
    salesforce_config = directory / "salesforce.json"
    write_private(salesforce_config, json.dumps(salesforce, indent=2) + "\n")

    servers = [Server("authentik-" + profile, authentik_command(profile, token, enterprise), directory, token)
               for profile in AUTHENTIK_PROFILES]
    servers.append(Server("salesforce", salesforce_command(salesforce_config), directory))
    for server in servers:
        script = Path(server.command[1])
        if not script.exists():
            raise LaunchError("%s: %s does not exist" % (server.name, script))

    try:
        start_servers(servers, timeout)
    except BaseException:
        stop_all(directory, quiet=True)
        raise
    for server in servers:
        say("sandbox: %s listening on %s (pid %d)" % (server.name, server.url, server.process.pid))

    *authentik_servers, salesforce_server = servers
    env = {"AUTHENTIK_SANDBOX_%s_URL" % env_key(server.name.removeprefix("authentik-")): server.url
           for server in authentik_servers}
    env.update({
        "AUTHENTIK_TOKEN": token,
        "SALESFORCE_SANDBOX_URL": salesforce_server.url,
        "SALESFORCE_CLIENT_ID": salesforce["client_id"],
        "SALESFORCE_CLIENT_SECRET": salesforce["client_secret"],
        "SALESFORCE_USERNAME": salesforce["username"],
        "SALESFORCE_PRIVATE_KEY_FILE": str(key_path),
        # The modules' own connection variables, pointed at the newest authentik profile and the Salesforce sandbox.
        "AUTHENTIK_URL": authentik_servers[-1].url,
        "SALESFORCE_INSTANCE_URL": salesforce_server.url,
    })
    write_private(directory / "env.json", json.dumps(env, indent=2) + "\n")
    write_private(directory / "env.sh", "".join("export %s=%s\n" % (k, shlex.quote(v)) for k, v in env.items()))
    say("sandbox: environment in %s (source it) and %s" % (directory / "env.sh", directory / "env.json"))
    if integration_config:
        write_integration_config(Path(integration_config), env)
        say("sandbox: ansible-test settings in %s" % integration_config)
    return env


def start(args: argparse.Namespace) -> int:
    start_set(Path(args.dir), args.timeout, args.enterprise, args.integration_config)
    return 0


def stop(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    if directory.is_dir():
        stop_all(directory)
    print("sandbox: stopped")
    return 0


def status(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    running = 0
    for name in SERVER_NAMES:
        pid = read_pid(directory / (name + ".pid"))
        port = read_pid(directory / (name + ".port"))
        if pid is not None and is_our_server(pid):
            running += 1
            print("%-18s running  pid %-7d http://127.0.0.1:%s" % (name, pid, port))
        else:
            print("%-18s stopped" % name)
    return 0 if running == len(SERVER_NAMES) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start, stop or inspect the local authentik and Salesforce sandboxes.")
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", default=".sandbox", help="state directory: logs, pids, env files (default .sandbox)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the servers (start; a bound against a hang, not a margin)")
    parser.add_argument("--integration-config", default=str(DEFAULT_INTEGRATION_CONFIG),
                        help="where `start` writes ansible-test's integration_config.yml ('' for nowhere)")
    parser.add_argument("--enterprise", action="store_true",
                        help="start the authentik servers with a valid enterprise licence (default: unlicensed)")
    args = parser.parse_args(argv)
    try:
        return {"start": start, "stop": stop, "status": status}[args.command](args)
    except LaunchError as error:
        print("sandbox: ERROR: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
