"""A local, strict fake of the authentik REST API (/api/v3) for the collection's tests and demo.

Usage:
    python tests/sandbox/authentik/server.py --profile {2025.12|2026.2|2026.5|2026.8} [--port 0] [--port-file PATH]
        [--token TOKEN] [--enterprise] [--drop-unknown-fields] [--tls-cert PEM --tls-key PEM]
        [--check-responses] [--verbose]

Run it with an interpreter that has ``authentik-client`` of the profile's release (2025.12.x, 2026.2.x, 2026.5.x
or 2026.8.x) and ``cryptography`` installed: the client package is the API contract. See README.md beside this file.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import contract  # noqa: E402
import resources  # noqa: E402
import state  # noqa: E402

# One profile per release line whose behaviour the modules depend on (resources/base.py says what changed where).
PROFILES = ("2025.12", "2026.2", "2026.5", "2026.8")
FAULT_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
FAULT_KINDS = (None, "redirect")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
GUARD_MODES = ("allow", "forbid")
GUARD_STATUS = 409
APP_METADATA = re.compile(r"^/application/saml/(?P<slug>[^/]+)/metadata/$")


class Sandbox:
    """The API behind the HTTP handler: routing, auth, state, request log, faults, control endpoints."""

    def __init__(self, profile, token="sandbox-token", enterprise=False, check_responses=False, verbose=False,
                 drop_unknown_fields=False):
        self.profile = profile
        self.line = tuple(int(part) for part in profile.split("."))
        self.version = contract.client_version()
        if ".".join(self.version.split(".")[:2]) != profile:
            raise SystemExit("authentik-client %s is installed, but profile %s needs authentik-client==%s.*"
                             % (self.version, profile, profile))
        self.token = token
        self.default_enterprise = enterprise
        self.enterprise = enterprise
        # Strict by default: an unknown field in a write is refused (400), which catches typos in our payloads.
        # Dropping it silently (as the real server does) shows what the modules' read-back check sees.
        self.default_drop_unknown = drop_unknown_fields
        self.drop_unknown_fields = drop_unknown_fields
        self.check_responses = check_responses
        self.verbose = verbose
        self.user_pk = 1  # the token belongs to akadmin
        self.state = state.State()
        self.log_lock = threading.Lock()
        self.requests = []
        self.pending = []  # entries of requests received and not answered yet (a delay, a client that went away)
        self.seq = 0
        self.faults = []
        self.fault_id = 0
        # The check-mode write guard: while it forbids writes, every write is refused and kept as a violation.
        self.guard_writes = "allow"
        self.violations = []
        self.routes = []
        for cls in resources.RESOURCES:
            for op_id, handler in cls().ops():
                self.routes.append((contract.Operation(op_id), handler))
        self.routes.sort(key=lambda route: route[0].specificity)

    def log_error(self, message):
        print("sandbox: " + message, file=sys.stderr, flush=True)

    # --- request log and faults ---
    def log_start(self, method, path, query, body):
        with self.log_lock:
            self.seq += 1
            entry = {"seq": self.seq, "method": method, "path": path, "query": query, "status": None,
                     "write": method in WRITE_METHODS and path.startswith("/api/"), "fault": None, "body": body}
            self.requests.append(entry)
            self.pending.append(entry)
            return entry

    def log_done(self, entry):
        """The answer to the request of `entry` was written (or its connection dropped)."""
        with self.log_lock:
            self.pending = [other for other in self.pending if other is not entry]

    def guard_refuses(self, entry):
        """True (and a violation recorded) when the guard forbids writes and this request is one."""
        if not entry["write"]:
            return False
        with self.log_lock:
            if self.guard_writes != "forbid":
                return False
            self.violations.append({key: entry[key] for key in ("seq", "method", "path", "query", "body")})
            return True

    def take_fault(self, method, path):
        with self.log_lock:
            for rule in self.faults:
                if rule["method"] not in (None, method) or not re.search(rule["path"], path):
                    continue
                rule["times"] -= 1
                if rule["times"] <= 0:
                    self.faults.remove(rule)
                return dict(rule)
        return None

    # --- outgoing fetches (OAuth source validation) ---
    def fetch_json(self, url, field):
        """GET a JSON document like the real server does during validation; only loopback URLs."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost"):
            raise resources.ApiError(400, {field: [
                "sandbox: only http(s)://127.0.0.1 or localhost URLs can be fetched, not %s" % url]})
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        # the lock is released while waiting, so that the URL may even point at this sandbox
        self.state.lock.release()
        try:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10,
                                                   context=ssl._create_unverified_context())  # noqa: S323 - local
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            try:
                conn.request("GET", target, headers={"Accept": "application/json"})
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            raise resources.ApiError(400, {field: [str(exc)]}) from None
        finally:
            self.state.lock.acquire()
        if response.status >= 400:
            raise resources.ApiError(400, {field: [text or "%s %s" % (response.status, response.reason)]})
        try:
            return json.loads(text)
        except ValueError:
            raise resources.ApiError(400, {field: ["sandbox: %s did not return JSON" % url]}) from None

    # --- API dispatch ---
    def dispatch(self, method, path, query, raw_body, headers, base_url):
        """Handle one API request; returns (status, content type, body bytes, extra headers)."""
        try:
            status, payload, extra = self._dispatch(method, path, query, raw_body, headers, base_url)
        except resources.ApiError as exc:
            status, payload, extra = exc.status, exc.body, {}
            if isinstance(payload, bytes):
                return status, exc.content_type, payload, extra
        except Exception:  # noqa: BLE001 - a sandbox bug must be visible, not a hang
            self.log_error(traceback.format_exc())
            body = json.dumps({"detail": "sandbox: internal error (see its stderr)"}).encode()
            return 500, "application/json", body, {}
        if isinstance(payload, resources.Raw):
            return status, payload.content_type, payload.data, payload.headers
        if payload is None:
            return status, None, b"", extra
        return status, "application/json", json.dumps(payload).encode(), extra

    def _authenticate(self, headers):
        """None when authenticated; else the DRF 403 detail. authentik answers 403, never 401."""
        raw = headers.get("Authorization")
        if not raw:
            return "Authentication credentials were not provided."
        scheme, key = (raw.split(" ", 1) + [""])[:2]
        if scheme.lower() != "bearer":
            return "Authentication credentials were not provided."
        if key.strip() != self.token:
            return "Token invalid/expired"
        return None

    def _dispatch(self, method, path, query, raw_body, headers, base_url):
        match = APP_METADATA.match(path)
        if match and method == "GET":
            return self._app_metadata(match.group("slug"), base_url)
        if not path.startswith("/api/v3/"):
            raise resources.ApiError(404, {"detail": "Not found."})
        api_path = path[len("/api/v3"):]
        candidates = []
        for op, handler in self.routes:
            found = op.regex.match(api_path)
            if found:
                candidates.append((op, handler, found))
        if not candidates:
            raise resources.ApiError(404, {"detail": "Not found." if api_path.endswith("/") else
                                           "sandbox: not found (authentik paths end with a slash)"})
        problem = self._authenticate(headers)
        public = candidates[0][0].id == "providers_saml_metadata_retrieve"
        if problem and not (public and not headers.get("Authorization")):
            raise resources.ApiError(403, {"detail": problem})
        chosen = [c for c in candidates if c[0].method == method]
        if not chosen:
            raise resources.ApiError(405, {"detail": 'Method "%s" not allowed.' % method})
        op, handler, found = chosen[0]
        unknown = sorted(set(query) - set(op.query))
        if unknown:
            what = "filter" if op.id.endswith("_list") else "query parameter"
            raise resources.ApiError(400, {"detail": "sandbox: unknown %s '%s' (the real server ignores it silently)"
                                                     % (what, unknown[0])})
        body = None
        if method in ("POST", "PUT", "PATCH") and op.body_model is not None:
            try:
                body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else {}
            except ValueError as exc:
                raise resources.ApiError(400, {"detail": "JSON parse error - %s" % exc}) from None
        ctx = resources.Ctx(self, op, query, base_url)
        params = [found.group(name) for name in op.path_params]
        with self.state.lock:
            status, payload = handler(ctx, params, body)
        if self.check_responses and op.response_model is not None and isinstance(payload, dict):
            problems = self._check_response(op, payload)
            if problems:
                name = op.response_model.__name__
                self.log_error("response of %s %s does not match %s: %s" % (method, path, name, problems))
                return 500, {"detail": "sandbox: response does not match the %s contract" % name,
                             "errors": problems}, {}
        return status, payload, {}

    def _check_response(self, op, payload):
        problems = contract.check_response(op.response_model, payload)
        items = payload.get("results", []) if op.item_fields else [payload]
        allowed = set(op.item_fields) if op.item_fields else set(contract.model_fields(op.response_model))
        for item in items:
            problems += ["unexpected field %s" % key for key in sorted(set(item) - allowed)]
        return problems

    def _app_metadata(self, slug, base_url):
        """The non-API metadata URL (url_download_metadata of a provider with an application)."""
        with self.state.lock:
            ctx = resources.Ctx(self, None, {}, base_url)
            for app in self.state.all("applications"):
                provider = self.state.get("providers", app["provider"]) if app["slug"] == slug else None
                if provider and provider["_kind"] == "saml":
                    xml = resources.SAMLProviders().metadata_xml(ctx, provider)
                    return 200, resources.Raw(xml, "application/xml"), {}
        raise resources.ApiError(404, b"<h1>Not Found</h1>", "text/html; charset=utf-8")

    # --- control endpoints ---
    def control(self, method, path, raw_body):
        """/_sandbox/...: returns (status, payload)."""
        try:
            body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else {}
        except ValueError:
            return 400, {"detail": "invalid JSON"}
        name = path[len("/_sandbox/"):].strip("/")
        if name == "requests" and method == "GET":
            with self.log_lock:
                return 200, json.loads(json.dumps(self.requests))
        if name == "requests" and method == "DELETE":
            with self.log_lock:
                self.requests = []
            return 204, None
        if name == "pending" and method == "GET":
            with self.log_lock:
                return 200, [{"seq": e["seq"], "method": e["method"], "path": e["path"]} for e in self.pending]
        if name == "reset" and method == "POST":
            with self.state.lock:
                self.state.seed()
            with self.log_lock:
                self.requests, self.faults, self.seq = [], [], 0
                self.guard_writes, self.violations = "allow", []
            self.enterprise = self.default_enterprise
            self.drop_unknown_fields = self.default_drop_unknown
            return 204, None
        if name == "state" and method == "GET":
            with self.state.lock:
                return 200, {"profile": self.profile, "version": self.version, "enterprise": self.enterprise,
                             "objects": self.state.dump(),
                             "sync_count": {str(pk): n for pk, n in self.state.sync_count.items()}}
        if name == "faults":
            return self._control_faults(method, body)
        if name == "guard":
            return self._control_guard(method, body)
        if name == "config" and method in ("GET", "POST"):
            if method == "POST":
                settings = ("enterprise", "drop_unknown_fields")
                if not isinstance(body, dict) or set(body) - set(settings) or \
                        not all(isinstance(body[key], bool) for key in body):
                    return 400, {"detail": "expected {\"enterprise\": true|false, \"drop_unknown_fields\": true|false}"}
                self.enterprise = body.get("enterprise", self.enterprise)
                self.drop_unknown_fields = body.get("drop_unknown_fields", self.drop_unknown_fields)
            return 200, {"enterprise": self.enterprise, "drop_unknown_fields": self.drop_unknown_fields}
        return 404, {"detail": "unknown control endpoint %s %s" % (method, path)}

    def _control_guard(self, method, body):
        """The check-mode write guard: GET its state, POST {"writes": "forbid"|"allow"}, DELETE (allow, forget)."""
        with self.log_lock:
            if method == "POST":
                if not isinstance(body, dict) or set(body) != {"writes"} or body["writes"] not in GUARD_MODES:
                    return 400, {"detail": "expected {\"writes\": \"forbid\"|\"allow\"}"}
                self.guard_writes = body["writes"]
            elif method == "DELETE":
                self.guard_writes, self.violations = "allow", []
                return 204, None
            elif method != "GET":
                return 405, {"detail": "GET, POST or DELETE"}
            return 200, {"writes": self.guard_writes, "violations": json.loads(json.dumps(self.violations))}

    def _control_faults(self, method, body):
        if method == "GET":
            with self.log_lock:
                return 200, json.loads(json.dumps(self.faults))
        if method == "DELETE":
            with self.log_lock:
                self.faults = []
            return 204, None
        if method != "POST":
            return 405, {"detail": "GET, POST or DELETE"}
        allowed = {"method", "path", "status", "retry_after", "delay", "drop", "times", "kind", "location"}
        if not isinstance(body, dict) or set(body) - allowed:
            return 400, {"detail": "fault keys: %s" % ", ".join(sorted(allowed))}
        rule = {"method": body.get("method"), "path": body.get("path", ".*"), "status": body.get("status"),
                "retry_after": body.get("retry_after"), "delay": body.get("delay") or 0,
                "drop": bool(body.get("drop")), "times": body.get("times", 1), "kind": body.get("kind"),
                "location": body.get("location")}
        try:
            re.compile(rule["path"])
        except re.error as exc:
            return 400, {"detail": "path is not a valid regex: %s" % exc}
        if rule["kind"] not in FAULT_KINDS:
            return 400, {"detail": "kind must be one of %s" % (FAULT_KINDS,)}
        if rule["kind"] == "redirect":
            problem = check_redirect(rule)
            if problem:
                return 400, {"detail": problem}
        elif rule["location"] is not None:
            return 400, {"detail": "location goes with kind redirect only"}
        elif rule["status"] is not None and rule["status"] not in FAULT_STATUSES:
            return 400, {"detail": "status must be one of %s" % (FAULT_STATUSES,)}
        if rule["method"] is not None:
            rule["method"] = str(rule["method"]).upper()
        if not isinstance(rule["times"], int) or rule["times"] < 1:
            return 400, {"detail": "times must be a positive integer"}
        if rule["status"] is None and not rule["drop"] and not rule["delay"]:
            return 400, {"detail": "a fault needs a status, drop or delay"}
        with self.log_lock:
            self.fault_id += 1
            rule["id"] = self.fault_id
            self.faults.append(rule)
        return 201, rule


def check_redirect(rule):
    """Why a redirect rule is refused, or None: a redirect status, a Location (absolute http(s) URL or a path)."""
    if rule["status"] not in REDIRECT_STATUSES:
        return "a redirect needs a status, one of %s" % (REDIRECT_STATUSES,)
    if rule["drop"]:
        return "a redirect is an answer: it cannot drop the connection"
    location = rule["location"]
    if not isinstance(location, str) or not location or any(c in location for c in "\r\n"):
        return "a redirect needs a location: an absolute http(s) URL or a path"
    if not location.startswith("/"):
        parts = urlsplit(location)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "location must be an absolute http(s) URL or a path starting with /, not %r" % location
    return None


def fault_response(rule):
    """(status, content type, body, headers) of an injected fault."""
    headers = {}
    if rule["retry_after"] is not None:
        headers["Retry-After"] = str(rule["retry_after"])
    status = rule["status"]
    reason = http.client.responses.get(status, "Error")
    if rule["kind"] == "redirect":
        # what a reverse proxy in front of authentik sends
        headers["Location"] = rule["location"]
        body = ("<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>"
                % (status, reason, status, reason)).encode()
        return status, "text/html", body, headers
    if status == 429:
        wait = rule["retry_after"] if rule["retry_after"] is not None else 1
        body = json.dumps({"detail": "Request was throttled. Expected available in %s seconds." % wait}).encode()
        return status, "application/json", body, headers
    # what a reverse proxy or Django's error page sends: HTML, not JSON
    body = ("<html><body><h1>%s %s</h1></body></html>" % (status, reason)).encode()
    return status, "text/html; charset=utf-8", body, headers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK, adding 40 ms to every response, which no real server does.
    disable_nagle_algorithm = True
    server_version = "authentik-sandbox"
    sys_version = ""

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.handle_method("GET")

    def do_POST(self):  # noqa: N802
        self.handle_method("POST")

    def do_PUT(self):  # noqa: N802
        self.handle_method("PUT")

    def do_PATCH(self):  # noqa: N802
        self.handle_method("PATCH")

    def do_DELETE(self):  # noqa: N802
        self.handle_method("DELETE")

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def handle_method(self, method):
        sandbox = self.server.sandbox
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.startswith("/_sandbox/"):
            status, payload = sandbox.control(method, path, raw)
            body = b"" if payload is None else json.dumps(payload).encode()
            self.reply(status, "application/json" if payload is not None else None, body, {})
            return
        try:
            logged_body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except ValueError:
            logged_body = None
        entry = sandbox.log_start(method, path, query, logged_body)
        try:
            self.serve(sandbox, method, path, query, raw, entry)
        finally:
            sandbox.log_done(entry)

    def serve(self, sandbox, method, path, query, raw, entry):
        if sandbox.guard_refuses(entry):
            # Before any fault rule: a write in check mode is refused whatever else is armed.
            entry["fault"], entry["status"] = "guard", GUARD_STATUS
            body = json.dumps({"detail": "sandbox check-mode guard: %s %s is a write, and the run is in check mode "
                                         "(writes are forbidden)" % (method, path)}).encode()
            self.reply(GUARD_STATUS, "application/json", body, {})
            return
        rule = sandbox.take_fault(method, path)
        if rule:
            entry["fault"] = "delay" if rule["delay"] else None
            if rule["delay"]:
                time.sleep(rule["delay"])
            if rule["drop"]:
                entry["fault"] = "drop" if not rule["delay"] else "delay+drop"
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if rule["status"]:
                kind = rule["kind"] or str(rule["status"])
                entry["fault"] = "delay+" + kind if rule["delay"] else kind
                status, ctype, body, headers = fault_response(rule)
                entry["status"] = status
                self.reply(status, ctype, body, headers)
                return
        host = self.headers.get("Host") or "127.0.0.1:%s" % self.server.server_address[1]
        base_url = "%s://%s" % ("https" if self.server.tls else "http", host)
        status, ctype, body, headers = sandbox.dispatch(method, path, query, raw, self.headers, base_url)
        entry["status"] = status
        self.reply(status, ctype, body, headers)

    def reply(self, status, content_type, body, headers):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


def write_port_file(path, port):
    """Atomically: a reader never sees a half-written file."""
    tmp = "%s.%s.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("%s\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local authentik API sandbox")
    parser.add_argument("--profile", required=True, choices=PROFILES)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--token", default="sandbox-token")
    parser.add_argument("--enterprise", action="store_true",
                        help="start with a valid enterprise licence (default: unlicensed, as most servers are)")
    parser.add_argument("--drop-unknown-fields", action="store_true",
                        help="drop unknown fields in writes silently, like the real server (default: refuse them)")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--check-responses", action="store_true",
                        help="answer 500 when a response does not match the client's response model")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")

    sandbox = Sandbox(args.profile, args.token, args.enterprise, args.check_responses, args.verbose,
                      args.drop_unknown_fields)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.sandbox = sandbox
    server.tls = bool(args.tls_cert)
    if server.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    print("authentik sandbox: profile %s (authentik-client %s) on %s://127.0.0.1:%s"
          % (args.profile, sandbox.version, "https" if server.tls else "http", port), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
