"""The HTTP messages of the Salesforce sandbox: a Request (classified for the log, the fault rules and the guard
before it is served) and a Response, and the error bodies several APIs share."""

import json
import urllib.parse

LIMIT_MESSAGES = {
    "daily_limit": "TotalRequests Limit exceeded.",
    "concurrent_limit": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
}
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


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
