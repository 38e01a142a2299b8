"""A loopback HTTP(S) server that records every request it receives: the "other host" of the redirect tests.

    python tests/sandbox/recorder.py [--host 127.0.0.1] [--port 0] [--port-file PATH] [--tls-cert PEM --tls-key PEM]

Any method on any path but /_sandbox/... is recorded - method, target (path and query), headers (in order, as
received), body (text, and base64 of the exact bytes), the scheme it came over - and answered with the configured
answer (200 `{}` unless told otherwise). It implements no API: whatever reaches it is what a client would have
handed to a host it should not trust. Control API (not recorded):

    GET    /_sandbox/requests   the recorded requests, in order
    DELETE /_sandbox/requests   forget them
    POST   /_sandbox/answer     {"status": 200, "headers": {...}, "body": "text"}: the answer to every request
    POST   /_sandbox/reset      no request, the default answer

The same conventions as the sandboxes (launch.py): a free port with --port 0, written atomically to --port-file
once listening; SIGTERM stops it (and, with --exit-with-parent, the end of the process that started it).
The tests start one with ``support.sandboxes.recorder()`` (through launch.py) and read it with its ``requests()``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ANSWER = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
ANSWER_KEYS = {"status", "headers", "body"}


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.answer = dict(DEFAULT_ANSWER)

    def control(self, method, route, raw):
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return 400, {"error": "the body must be JSON"}
        with self.lock:
            if route == "requests" and method == "GET":
                return 200, list(self.requests)
            if route == "requests" and method == "DELETE":
                self.requests = []
                return 200, {"cleared": True}
            if route == "reset" and method == "POST":
                self.requests, self.answer = [], dict(DEFAULT_ANSWER)
                return 200, {"reset": True}
            if route == "answer" and method == "POST":
                problem = check_answer(data)
                if problem:
                    return 400, {"error": problem}
                self.answer = {"status": data.get("status", 200), "headers": dict(data.get("headers") or {}),
                               "body": data.get("body", "")}
                return 200, self.answer
        return 404, {"error": "unknown control endpoint %s /_sandbox/%s" % (method, route)}


def check_answer(data):
    if not isinstance(data, dict) or set(data) - ANSWER_KEYS:
        return "an answer is an object with %s" % ", ".join(sorted(ANSWER_KEYS))
    if not isinstance(data.get("status", 200), int) or not 200 <= data.get("status", 200) <= 599:
        return "status is an HTTP status from 200 to 599"
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return "headers is an object of strings"
    if not isinstance(data.get("body", ""), str):
        return "body is a string"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "recorder"
    sys_version = ""

    def __getattr__(self, name):
        # Every method is recorded, whatever its name (do_GET, do_POST, do_PROPFIND...).
        if name.startswith("do_"):
            return lambda: self.handle_any(name[3:])
        raise AttributeError(name)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self, method):
        body = self.read_body()
        log = self.server.log
        if self.path.startswith("/_sandbox/"):
            status, payload = log.control(method, self.path[len("/_sandbox/"):].split("?")[0].strip("/"), body)
            self.reply(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            return
        with log.lock:
            log.requests.append({
                "seq": len(log.requests) + 1, "time": time.time(),
                "scheme": "https" if self.server.tls else "http",
                "method": method, "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", "replace"), "body_base64": base64.b64encode(body).decode(),
            })
            answer = dict(log.answer)
        self.reply(answer["status"], answer["headers"], answer["body"].encode())

    def reply(self, status, headers, body):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None  # ssl.SSLContext when serving HTTPS

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def write_port_file(path, port):
    """Atomically: a reader never sees a half-written file."""
    tmp = "%s.%s.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A loopback server that records every request it receives.")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the process that started it is gone (a test runner that was killed)")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if not args.host.startswith("127."):
        parser.error("--host must be a loopback address (127.x.y.z)")
    server = Server((args.host, args.port), Handler)
    server.log = Log()
    if args.tls_cert:
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(args.tls_cert, args.tls_key)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        parent = os.getppid()

        def watch():
            while os.getppid() == parent:
                time.sleep(1)
            server.shutdown()

        threading.Thread(target=watch, daemon=True).start()
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("recorder: %s://%s:%d" % ("https" if server.tls else "http", args.host, port), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
