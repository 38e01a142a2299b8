"""The control API of the Salesforce sandbox (/_sandbox/...: request log, reset, state, switches, fault rules, the
check-mode write guard) and what the fault rules and the guard do to a request. A mixin of server.Sandbox."""

import json
import re
import urllib.parse

from messages import LIMIT_MESSAGES, Response, soap_response
from metadata_base import Fault
from scim import ScimError
from store import SWITCHES, check_switches

FAULT_KEYS = {"api", "operation", "path", "method", "status", "retry_after", "delay", "drop", "kind", "times",
              "location"}
FAULT_KINDS = (None, "INVALID_SESSION_ID", "concurrent_limit", "daily_limit", "redirect")
FAULT_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
REASONS = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
           308: "Permanent Redirect", 429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}
APIS = (None, "oauth", "rest", "soap", "scim")
# The check-mode write guard. SOAP calls that only read; every other Metadata API call is a write to it (deploy,
# rename... too, implemented or not). The OAuth endpoints (token, revoke) are never writes.
READ_ONLY_SOAP = ("readMetadata", "listMetadata", "describeMetadata", "describeValueType", "checkDeployStatus",
                  "checkRetrieveStatus", "retrieve", "checkStatus")
GUARD_MODES = ("allow", "forbid")
GUARD_CODE = "CHECK_MODE_WRITE"


class Controls:
    @staticmethod
    def guarded(request) -> bool:
        """Whether the check-mode guard counts this request as a write: REST and SCIM writes, and every SOAP call
        but the read-only ones."""
        if request.api == "soap":
            return request.operation is not None and request.operation not in READ_ONLY_SOAP
        return request.api in ("rest", "scim") and request.write

    def guard_refuses(self, request) -> bool:
        """True (and a violation recorded) when the guard forbids writes and this request is one."""
        if not self.guarded(request):
            return False
        with self.state.lock:
            if self.guard_writes != "forbid":
                return False
            self.violations.append({"seq": request.seq, "method": request.method, "path": request.path,
                                    "api": request.api, "operation": request.operation, "types": request.types})
            return True

    def guard_response(self, request):
        message = ("sandbox check-mode guard: %s %s is a write, and the run is in check mode (writes are forbidden)"
                   % (request.operation or request.method, ",".join(request.types) or request.path))
        if request.api == "soap":
            return soap_response(500, Fault(GUARD_CODE, message).xml())
        if request.api == "scim":
            return Response(403, ScimError(403, message).body(), "application/scim+json")
        return Response(403, [{"errorCode": GUARD_CODE, "message": message}])

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
                self.guard_writes, self.violations = "allow", []
                if data.get("keep_tokens"):  # let a test keep its session across a reset
                    state.tokens.update(tokens)
                return Response(200, {"reset": True})
            if route == "state" and method == "GET":
                return Response(200, self.snapshot())
            if route == "faults":
                return self.control_faults(method, data)
            if route == "guard":
                return self.control_guard(method, data)
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

    def control_guard(self, method, data):
        """The check-mode write guard: GET its state, POST {"writes": "forbid"|"allow"}, DELETE (allow, forget)."""
        if method == "POST":
            if not isinstance(data, dict) or set(data) != {"writes"} or data["writes"] not in GUARD_MODES:
                return Response(400, {"error": 'expected {"writes": "forbid"|"allow"}'})
            self.guard_writes = data["writes"]
        elif method == "DELETE":
            self.guard_writes, self.violations = "allow", []
            return Response(200, {"cleared": True})
        elif method != "GET":
            return Response(405, {"error": "GET, POST or DELETE"})
        return Response(200, {"writes": self.guard_writes, "violations": json.loads(json.dumps(self.violations))})

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
            problem = Controls.check_redirect(raw)
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
