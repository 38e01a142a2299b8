"""What the Salesforce sandbox serves: requests classified by API (OAuth, REST, Metadata SOAP, SCIM), the daily API
limit, and each API's answers. A mixin of server.Sandbox (its state, metadata, soql, oauth and scim)."""

import re
import secrets

from messages import INVALID_SESSION, LIMIT_MESSAGES, NOT_FOUND, Response, soap_response
from metadata_api import inspect
from metadata_base import Fault
from scim import ScimError
from oauth import OAuthError
from soql import OBJECTS, SoqlError

SEASONS = ("Spring", "Summer", "Winter")


def release_label(version: str) -> str:
    """60.0 -> Spring '24, 62.0 -> Winter '25 (three releases a year; Winter is named after the next year)."""
    index = int(float(version)) - 60
    return "%s '%02d" % (SEASONS[index % 3], 24 + (index + 1) // 3)


class Services:
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
