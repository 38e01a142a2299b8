"""Local, strict fake of the Salesforce APIs the collection uses (see README.md in this folder).

    python tests/sandbox/salesforce/server.py --config PATH.json [--port 0] [--port-file PATH]
                                              [--tls-cert PEM --tls-key PEM] [--wsdl PATH] [--verbose]

Serves OAuth (JWT bearer, client credentials, authorization code), REST (versions, SOQL with paging, limits),
the Metadata API over SOAP (validated against the WSDL bundled in simple-salesforce), SCIM 2.0 users, and a
control API under /_sandbox/ (request log, fault injection, reset, state, switches).
"""

import argparse
import json
import os
import re
import secrets
import socket
import ssl
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from metadata_api import Fault, MetadataApi, inspect
from oauth import LOGIN_HOSTS, OAuth, OAuthError
from schema import Schema, locate_wsdl
from scim import Scim, ScimError
from soql import OBJECTS, Engine, SoqlError
from store import SWITCHES, State, check_switches, load_config

FAULT_KEYS = {"api", "operation", "path", "method", "status", "retry_after", "delay", "drop", "kind", "times",
              "location"}
FAULT_KINDS = (None, "INVALID_SESSION_ID", "concurrent_limit", "daily_limit", "redirect")
FAULT_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
REASONS = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
           308: "Permanent Redirect", 429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}
APIS = (None, "oauth", "rest", "soap", "scim")
LIMIT_MESSAGES = {
    "daily_limit": "TotalRequests Limit exceeded.",
    "concurrent_limit": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
}
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
SEASONS = ("Spring", "Summer", "Winter")


def release_label(version: str) -> str:
    """60.0 -> Spring '24, 62.0 -> Winter '25 (three releases a year; Winter is named after the next year)."""
    index = int(float(version)) - 60
    return "%s '%02d" % (SEASONS[index % 3], 24 + (index + 1) // 3)


class Response:
    def __init__(self, status, body=None, content_type="application/json;charset=UTF-8", headers=None):
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            self.body = b""
        elif isinstance(body, (bytes, str)):
            self.body = body.encode() if isinstance(body, str) else body
        else:
            self.body = json.dumps(body).encode()
        self.content_type = content_type if body is not None else None


def soap_response(status, xml):
    return Response(status, xml, "text/xml;charset=UTF-8")


class Request:
    """One API request, classified for the log and the fault rules before it is served."""

    def __init__(self, method, target, headers, body):
        url = urllib.parse.urlsplit(target)
        self.method, self.path, self.raw_query = method, url.path, url.query
        self.query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        self.headers, self.body = headers, body
        self.api, self.operation, self.types, self.write = None, None, [], False
        self.soap_call = None
        self.user = None
        self.version = None
        self.seq = None

    def bearer(self):
        value = self.headers.get("Authorization", "")
        scheme, _space, token = value.partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "oauth") else None

    def session(self):
        return self.soap_call.session_id if self.soap_call else self.bearer()

    def form(self):
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self):
        if not self.body:
            return None
        return json.loads(self.body)

    def log_body(self):
        if not self.body:
            return None
        text = self.body.decode("utf-8", "replace")
        if self.api == "soap":
            return text
        if self.api == "oauth" and self.method == "POST":
            form = self.form()
            if "client_secret" in form:
                form["client_secret"] = "***"
            return form
        try:
            return json.loads(text)
        except ValueError:
            return text


class Sandbox:
    def __init__(self, config, schema):
        self.state = State(config)
        self.schema = schema
        self.metadata = MetadataApi(schema, self.state)
        self.soql = Engine(self.state)
        self.oauth = OAuth(self.state)
        self.scim = Scim(self.state)
        self.fault_ids = 0
        # Requests received and not answered yet (a delay, a client that went away), by seq; a reset keeps them.
        self.pending = {}

    # --- classification, limits, faults -----------------------------------------------------------------------

    def classify(self, request):
        path = request.path
        if path.startswith("/services/oauth2/") or path.startswith("/id/") or path.startswith("/.well-known/"):
            request.api = "oauth"
            request.operation = {"/services/oauth2/token": "token", "/services/oauth2/authorize": "authorize",
                                 "/services/oauth2/userinfo": "userinfo", "/services/oauth2/revoke": "revoke",
                                 "/.well-known/openid-configuration": "openid-configuration",
                                 "/id/keys": "keys"}.get(path.rstrip("/") or path, "identity")
        elif path.rstrip("/") == "/services/data" or path.startswith("/services/data/"):
            request.api = "rest"
            self.classify_rest(request)
        elif path.startswith("/services/Soap/m/"):
            request.api = "soap"
            request.soap_call = inspect(request.body)
            request.operation = request.soap_call.operation
            request.types = list(request.soap_call.types)
            request.write = request.soap_call.write
        elif path.startswith("/services/scim/v2/"):
            request.api = "scim"
            parts = [p for p in path[len("/services/scim/v2/"):].split("/") if p]
            resource = parts[0] if parts else ""
            single = len(parts) > 1
            verbs = {"GET": "get" if single else "list", "POST": "create", "PUT": "replace", "PATCH": "patch",
                     "DELETE": "delete"}
            request.operation = verbs.get(request.method, request.method.lower()) + resource
            request.types = [resource] if resource else []
            request.write = request.method in ("POST", "PUT", "PATCH", "DELETE")

    def classify_rest(self, request):
        match = re.match(r"^/services/data/v(\d+\.\d)(/.*)?$", request.path)
        if not match:
            request.operation = "versions"
            return
        request.version, rest = match.group(1), (match.group(2) or "/").rstrip("/") or "/"
        query = re.match(r"^(/tooling)?/query(?:/([^/]+))?$", rest)
        if query and query.group(2):
            request.operation = "queryMore"
            cursor = self.state.cursors.get(query.group(2).rpartition("-")[0])
            request.types = [cursor["object"]] if cursor else []
        elif query:
            request.operation = "query"
            found = re.search(r"\bfrom\s+([A-Za-z_]\w*)", request.query.get("q", ""), re.I)
            request.types = [found.group(1)] if found else []
        elif rest == "/limits":
            request.operation = "limits"
        elif rest.startswith("/sobjects/"):
            request.operation = "sobject"
            request.types = rest.split("/")[2:3]
        else:
            request.operation = "resources" if rest == "/" else "unknown"
        request.write = request.method not in ("GET", "HEAD")

    def consume(self) -> bool:
        """Count one API request against the daily limit; False when the limit is used up."""
        with self.state.lock:
            if self.state.api_used >= self.state.switches["daily_api_limit"]:
                return False
            self.state.api_used += 1
            return True

    def limit_header(self):
        return {"Sforce-Limit-Info": "api-usage=%d/%d" % (self.state.api_used, self.state.switches["daily_api_limit"])}

    def match_fault(self, request):
        with self.state.lock:
            for rule in self.state.faults:
                if rule["api"] and rule["api"] != request.api:
                    continue
                if rule["operation"] and rule["operation"] != request.operation:
                    continue
                if rule["method"] and rule["method"].upper() != request.method:
                    continue
                if rule["path"] and not re.search(rule["path"], request.path):
                    continue
                if rule["times"]:  # 0: every matching request
                    rule["remaining"] -= 1
                    if rule["remaining"] <= 0:
                        self.state.faults.remove(rule)
                rule["hits"] += 1
                return dict(rule)
        return None

    def fault_response(self, request, rule):
        """The response an injected fault gives, or None when it only delays the request."""
        headers = {}
        if rule["retry_after"] is not None:
            headers["Retry-After"] = str(rule["retry_after"])
        kind, status = rule["kind"], rule["status"]
        if kind == "redirect":
            # what a proxy or a moved My Domain sends
            headers["Location"] = rule["location"]
            reason = REASONS[status]
            response = Response(status, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>"
                                % (status, reason, status, reason), "text/html")
        elif kind == "INVALID_SESSION_ID":
            session = request.session()
            if session:
                self.oauth.expire(token=session)
            response = self.invalid_session(request)
        elif kind in LIMIT_MESSAGES:
            response = self.limit_exceeded(request, LIMIT_MESSAGES[kind])
        elif status == 500:
            if request.api == "soap":
                response = soap_response(500, Fault("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please "
                                                    "include this ErrorId if you contact support: "
                                                    "1234567890-12345 (-1234567890)").xml())
            else:
                response = Response(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error "
                                           "occurred. Please include this ErrorId if you contact support: "
                                           "1234567890-12345 (-1234567890)"}])
        elif status:
            reason = REASONS.get(status, "Error")
            response = Response(status, "<html><body><h1>%d %s</h1></body></html>" % (status, reason), "text/html")
        else:
            return None
        if status:
            response.status = status
        response.headers.update(headers)
        return response

    def invalid_session(self, request):
        if request.api == "soap":
            return soap_response(500, Fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: "
                                            "Illegal Session").xml())
        if request.api == "oauth":
            return Response(403, "Bad_OAuth_Token", "text/plain")
        return Response(401, INVALID_SESSION, headers={"WWW-Authenticate": 'Token'})

    def limit_exceeded(self, request, message):
        if request.api == "soap":
            return soap_response(500, Fault("REQUEST_LIMIT_EXCEEDED", message).xml())
        return Response(403, [{"message": message, "errorCode": "REQUEST_LIMIT_EXCEEDED"}])

    # --- serving ----------------------------------------------------------------------------------------------

    def serve(self, request, my_domain, login_host):
        if request.api == "oauth":
            return self.serve_oauth(request, my_domain, login_host)
        if request.api == "rest":
            return self.serve_rest(request, my_domain)
        if request.api == "soap":
            return self.serve_soap(request, my_domain)
        if request.api == "scim":
            return self.serve_scim(request, my_domain)
        return Response(404, NOT_FOUND)

    def authenticate(self, request):
        with self.state.lock:
            request.user = self.oauth.check(request.session())
        return request.user

    def serve_oauth(self, request, my_domain, login_host):
        operation = request.operation
        with self.state.lock:
            try:
                if operation == "token" and request.method == "POST":
                    return Response(200, self.oauth.token(request.form(), request.headers.get("Authorization", ""),
                                                          my_domain, login_host))
                if operation == "authorize" and request.method in ("GET", "POST"):
                    params = request.query if request.method == "GET" else request.form()
                    return Response(302, None, headers={"Location": self.oauth.authorize(params, my_domain)})
            except OAuthError as exc:
                return Response(exc.status, exc.body())
            if operation == "openid-configuration":
                return Response(200, self.oauth.openid_configuration(my_domain))
            if operation == "keys":
                return Response(200, self.oauth.jwks())
            if operation == "revoke" and request.method == "POST":
                self.oauth.expire(token=request.form().get("token") or request.query.get("token", ""))
                return Response(200, None)
            if operation in ("userinfo", "identity"):
                user = self.oauth.check(request.bearer() or request.query.get("oauth_token"))
                if user is None:
                    return Response(403, "Bad_OAuth_Token", "text/plain")
                request.user = user
                if operation == "identity" and not request.path.endswith("/" + user["Id"]):
                    return Response(403, "Bad_Id", "text/plain")
                return Response(200, self.oauth.userinfo(user, my_domain))
        return Response(404, NOT_FOUND)

    def serve_rest(self, request, my_domain):
        if request.operation == "versions":
            # Public, not counted, no Sforce-Limit-Info header (reference 0 and 8).
            if request.path.rstrip("/") != "/services/data":
                return Response(404, NOT_FOUND)
            return Response(200, [{"label": release_label(v), "url": "/services/data/v" + v, "version": v}
                                  for v in sorted(self.state.config["api_versions"], key=float)])
        if self.authenticate(request) is None:
            return self.invalid_session(request)
        if request.version not in self.state.config["api_versions"]:
            return Response(404, NOT_FOUND)
        if not self.consume():
            return self.limit_exceeded(request, LIMIT_MESSAGES["daily_limit"])
        response = self.rest(request)
        response.headers.update(self.limit_header())
        return response

    def rest(self, request):
        prefix = "/services/data/v" + request.version
        operation = request.operation
        if operation in ("query", "queryMore", "limits", "sobject", "resources") and request.method != "GET":
            return Response(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method '%s' not allowed. "
                                   "Allowed are GET,HEAD" % request.method}])
        if operation == "resources":
            return Response(200, {name: "%s/%s" % (prefix, name)
                                  for name in ("tooling", "query", "limits", "sobjects")})
        if operation == "limits":
            used, limit = self.state.api_used, self.state.switches["daily_api_limit"]
            return Response(200, {
                "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
                "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 5, "Remaining": 5}, "FileStorageMB": {"Max": 20, "Remaining": 20},
                "SingleEmail": {"Max": 15, "Remaining": 15},
            })
        if operation in ("query", "queryMore"):
            tooling = "/tooling/" in request.path
            return self.query(request, prefix + ("/tooling" if tooling else ""))
        if operation == "sobject":
            return self.sobject(request, prefix)
        return Response(404, NOT_FOUND)

    def query(self, request, prefix):
        page_size = self.state.switches["query_page_size"]
        with self.state.lock:
            if request.operation == "queryMore":
                locator, _dash, offset = request.path.rstrip("/").rsplit("/", 1)[1].rpartition("-")
                cursor = self.state.cursors.get(locator)
                if cursor is None or not offset.isdigit():
                    return Response(400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
                rows, start = cursor["rows"], int(offset)
            else:
                soql = request.query.get("q")
                if not soql:
                    return Response(400, [{"message": "A query string has to be specified",
                                           "errorCode": "MALFORMED_QUERY"}])
                try:
                    object_name, rows = self.soql.run(soql, prefix)
                except SoqlError as exc:
                    return Response(400, [{"message": exc.message, "errorCode": exc.code}])
                locator, start = "01g" + secrets.token_hex(8)[:15], 0
                self.state.cursors[locator] = {"rows": rows, "object": object_name}
            end = start + page_size
            body = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[start:end]}
            if end < len(rows):
                body["nextRecordsUrl"] = "%s/query/%s-%d" % (prefix, locator, end)
            else:
                self.state.cursors.pop(locator, None)
        return Response(200, body)

    def sobject(self, request, prefix):
        parts = request.path.rstrip("/").split("/")[4:]  # ["sobjects", type, id]
        object_name = next((o for o in OBJECTS if len(parts) > 1 and o.lower() == parts[1].lower()), None)
        if object_name is None or len(parts) != 3:
            return Response(404, NOT_FOUND)
        with self.state.lock:
            fields = ", ".join(OBJECTS[object_name])
            try:
                rows = self.soql.run("SELECT %s FROM %s WHERE Id = '%s'" % (fields, object_name, parts[2]),
                                     prefix)[1]
            except SoqlError:
                rows = []
        if not rows:
            return Response(404, NOT_FOUND)
        return Response(200, rows[0])

    def serve_soap(self, request, my_domain):
        if request.method != "POST":
            return Response(405, "Method not allowed", "text/plain")
        match = re.match(r"^/services/Soap/m/(\d+\.\d)(/[A-Za-z0-9]{15,18})?/?$", request.path)
        if not match:
            return Response(404, NOT_FOUND)
        call = request.soap_call
        if call.error:
            return soap_response(500, call.error.xml())
        if "SOAPAction" not in request.headers:
            # The reference asks for the header; Salesforce's Axis-based endpoint refuses a request without it.
            return soap_response(500, Fault("soapenv:Client", "No SOAPAction header!").xml())
        if match.group(1) not in self.state.config["api_versions"]:
            return soap_response(500, Fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL").xml())
        if self.authenticate(request) is None:
            return self.invalid_session(request)
        if not self.consume():
            return self.limit_exceeded(request, LIMIT_MESSAGES["daily_limit"])
        try:
            return soap_response(200, self.metadata.execute(call, request.user, my_domain, request.seq))
        except Fault as fault:
            return soap_response(500, fault.xml())

    def serve_scim(self, request, my_domain):
        if self.authenticate(request) is None:
            return self.invalid_session(request)
        if not self.consume():  # SCIM runs on the REST framework and counts as API requests (guess)
            return self.limit_exceeded(request, LIMIT_MESSAGES["daily_limit"])
        headers = self.limit_header()
        try:
            data = request.json() if request.method in ("POST", "PUT", "PATCH") else None
        except ValueError:
            return Response(400, ScimError(400, "Malformed JSON", "invalidSyntax").body(), headers=headers)
        with self.state.lock:
            try:
                status, body = self.scim.handle(request.method, request.path[len("/services/scim/v2"):],
                                                request.query, data, my_domain)
            except ScimError as exc:
                return Response(exc.status, exc.body(), "application/scim+json", headers)
        return Response(status, body, "application/scim+json", headers)

    # --- control API ------------------------------------------------------------------------------------------

    def control(self, method, path, query, body):
        route = path[len("/_sandbox/"):].rstrip("/")
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return Response(400, {"error": "the body must be JSON"})
        state = self.state
        with state.lock:
            if route == "requests" and method == "GET":
                entries = sorted(state.log, key=lambda e: e["seq"])
                for key in ("api", "operation"):
                    if query.get(key):
                        entries = [e for e in entries if e[key] == query[key]]
                return Response(200, entries)
            if route == "requests" and method == "DELETE":
                state.log.clear()
                return Response(200, {"cleared": True})
            if route == "pending" and method == "GET":
                return Response(200, [self.pending[seq] for seq in sorted(self.pending)])
            if route == "reset" and method == "POST":
                tokens = dict(state.tokens)
                state.reset()
                if data.get("keep_tokens"):  # let a test keep its session across a reset
                    state.tokens.update(tokens)
                return Response(200, {"reset": True})
            if route == "state" and method == "GET":
                return Response(200, self.snapshot())
            if route == "faults":
                return self.control_faults(method, data)
            if route == "config" and method == "GET":
                return Response(200, state.switches)
            if route == "config" and method == "POST":
                unknown = set(data) - set(SWITCHES)
                if unknown:
                    return Response(400, {"error": "unknown switches: %s" % ", ".join(sorted(unknown)),
                                          "switches": list(SWITCHES)})
                try:
                    check_switches(data)
                except ValueError as exc:
                    return Response(400, {"error": str(exc)})
                state.switches.update(data)
                return Response(200, state.switches)
            if route == "expire_tokens" and method == "POST":
                return Response(200, {"expired": self.oauth.expire(data.get("token"), data.get("username"))})
        return Response(404, {"error": "unknown control endpoint %s %s" % (method, path)})

    def control_faults(self, method, data):
        state = self.state
        if method == "GET":
            return Response(200, state.faults)
        if method == "DELETE":
            state.faults.clear()
            return Response(200, {"cleared": True})
        if method != "POST":
            return Response(405, {"error": "GET, POST or DELETE"})
        rules = data if isinstance(data, list) else [data]
        added = []
        for raw in rules:
            problem = self.check_fault(raw)
            if problem:
                return Response(400, {"error": problem})
            self.fault_ids += 1
            rule = {key: raw.get(key) for key in FAULT_KEYS}
            rule.update(id=self.fault_ids, times=raw.get("times", 1), drop=bool(raw.get("drop")), hits=0,
                        delay=raw.get("delay") or 0)
            rule["remaining"] = rule["times"]
            added.append(rule)
        state.faults.extend(added)
        return Response(200, added if isinstance(data, list) else added[0])

    @staticmethod
    def check_fault(raw):
        if not isinstance(raw, dict):
            return "a fault rule is a JSON object"
        unknown = set(raw) - FAULT_KEYS
        if unknown:
            return "unknown keys: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(FAULT_KEYS)))
        if raw.get("api") not in APIS:
            return "api is one of %s" % (APIS,)
        if raw.get("kind") not in FAULT_KINDS:
            return "kind is one of %s" % (FAULT_KINDS,)
        if raw.get("kind") == "redirect":
            problem = Sandbox.check_redirect(raw)
            if problem:
                return problem
        elif raw.get("location") is not None:
            return "location goes with kind redirect only"
        elif raw.get("status") is not None and raw["status"] not in FAULT_STATUSES:
            return "status is one of 429, 500, 502, 503, 504"
        if not isinstance(raw.get("times", 1), int) or raw.get("times", 1) < 0:
            return "times is a non-negative integer (0: every matching request)"
        if not isinstance(raw.get("delay") or 0, (int, float)):
            return "delay is a number of seconds"
        if raw.get("path"):
            try:
                re.compile(raw["path"])
            except re.error as exc:
                return "path is not a regular expression: %s" % exc
        if not (raw.get("kind") or raw.get("status") or raw.get("drop") or raw.get("delay")):
            return "a fault needs a kind, a status, drop or a delay"
        return None

    @staticmethod
    def check_redirect(raw):
        """Why a redirect rule is refused, or None: a redirect status, a Location (absolute http(s) URL or a path)."""
        if raw.get("status") not in REDIRECT_STATUSES:
            return "a redirect needs a status, one of 301, 302, 303, 307, 308"
        if raw.get("drop"):
            return "a redirect is an answer: it cannot drop the connection"
        location = raw.get("location")
        if not isinstance(location, str) or not location or "\r" in location or "\n" in location:
            return "a redirect needs a location: an absolute http(s) URL or a path"
        if not location.startswith("/"):
            parts = urllib.parse.urlsplit(location)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return "location must be an absolute http(s) URL or a path starting with /, not %r" % location
        return None

    def snapshot(self):
        state = self.state
        metadata = {t: {n: r["values"] for n, r in records.items()} for t, records in state.metadata.items()}
        ecas = {}
        for app in metadata.get("ExternalClientApplication", {}):
            ecas[app] = {"ExternalClientApplication": metadata["ExternalClientApplication"][app]}
            for type_name, records in metadata.items():
                for values in records.values():
                    if values.get("externalClientApplication") == app:
                        ecas[app][type_name] = values
        return {
            "org_id": state.org15, "org_id_18": state.org18,
            "metadata": metadata,
            "security_settings": metadata.get("SecuritySettings", {}).get("Security"),
            "settings_writes": state.settings_writes,
            "ecas": ecas,
            "users": state.users, "scim_users": [u for u in state.users if u["Id"] in state.scim_user_ids],
            "counters": {"logins": state.logins, "api_calls_used": state.api_used,
                         "api_limit": state.switches["daily_api_limit"], "requests": len(state.log),
                         "active_tokens": sum(not t["expired"] for t in state.tokens.values())},
            "switches": state.switches,
            "faults": state.faults,
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK, adding 40 ms to every response, which no real server does.
    disable_nagle_algorithm = True
    server_version = "SalesforceSandbox/1.0"
    sandbox: Sandbox = None
    scheme = "http"
    verbose = False

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def my_domain(self):
        """The org's My Domain URL is the sandbox itself, as the client addressed it (Host header)."""
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        if self.login_host():
            host = "127.0.0.1:%d" % self.server.server_address[1]
        return "%s://%s" % (self.scheme, host)

    def login_host(self):
        """A request sent with Host: login.salesforce.com / test.salesforce.com plays the generic login host."""
        return (self.headers.get("Host") or "").split(":")[0].lower() in LOGIN_HOSTS

    def dispatch(self, method):
        sandbox = self.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_sandbox/"):
            url = urllib.parse.urlsplit(self.path)
            self.send(sandbox.control(method, url.path, dict(urllib.parse.parse_qsl(url.query)), body))
            return
        request = Request(method, self.path, self.headers, body)
        sandbox.classify(request)
        with sandbox.state.lock:
            sandbox.state.seq += 1
            request.seq = sandbox.state.seq
            sandbox.pending[request.seq] = {"seq": request.seq, "method": method, "path": request.path,
                                            "api": request.api, "operation": request.operation}
        try:
            self.serve(sandbox, method, request)
        finally:
            with sandbox.state.lock:
                sandbox.pending.pop(request.seq, None)

    def serve(self, sandbox, method, request):
        entry = {"seq": request.seq, "time": time.time(), "method": method, "path": request.path,
                 "query": request.query, "status": None, "api": request.api, "operation": request.operation,
                 "types": request.types, "write": request.write, "fault": None, "body": request.log_body(),
                 "user": None}
        rule = sandbox.match_fault(request)
        response = None
        if rule:
            if rule["kind"] or rule["drop"]:
                entry["fault"] = rule["kind"] or "drop"
            else:
                entry["fault"] = "status_%d" % rule["status"] if rule["status"] else "delay"
            if rule["delay"]:
                time.sleep(rule["delay"])
            if rule["drop"]:
                self.record(entry)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            response = sandbox.fault_response(request, rule)
        if response is None:
            try:
                response = sandbox.serve(request, self.my_domain(), self.login_host())
            except Exception:  # a sandbox bug: answer (and say so) rather than drop the connection
                traceback.print_exc()
                message = "sandbox internal error: %s" % traceback.format_exc().strip().splitlines()[-1]
                if request.api == "soap":
                    response = soap_response(500, Fault("UNKNOWN_EXCEPTION", message).xml())
                else:
                    response = Response(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": message}])
        if request.soap_call is not None and request.soap_call.items:
            entry["items"] = request.soap_call.items
        entry["status"] = response.status
        entry["user"] = request.user["Username"] if request.user else None
        self.record(entry)
        self.send(response)

    def record(self, entry):
        with self.sandbox.state.lock:
            self.sandbox.state.log.append(entry)

    def send(self, response):
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None  # ssl.SSLContext when serving HTTPS

    def finish_request(self, request, client_address):
        if self.tls is not None:
            # The TLS handshake happens here, in the connection's thread: a slow client can't block accept().
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def write_port_file(path: str, port: int) -> None:
    """Atomically: readers never see a half-written file."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local fake of the Salesforce APIs the collection uses.")
    parser.add_argument("--config", required=True, help="JSON configuration (see README.md)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--wsdl", help="Metadata API WSDL (default: the one bundled in simple-salesforce)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        config = load_config(json.loads(Path(args.config).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        parser.error("configuration %s: %s" % (args.config, exc))
    schema = Schema(Path(args.wsdl) if args.wsdl else locate_wsdl())

    Handler.sandbox = Sandbox(config, schema)
    Handler.verbose = args.verbose
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(args.tls_cert, args.tls_key)
        Handler.scheme = "https"
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("salesforce sandbox: %s://127.0.0.1:%d (org %s, Metadata WSDL %s)"
          % (Handler.scheme, port, config["org_id"], schema.version), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
