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
import socket
import ssl
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from controls import Controls
from messages import Request, Response, soap_response
from metadata_api import MetadataApi
from metadata_base import Fault
from oauth import LOGIN_HOSTS, OAuth
from schema import Schema, locate_wsdl
from scim import Scim
from services import Services
from soql import Engine
from store import State, load_config


class Sandbox(Services, Controls):
    """The org: its state and APIs (services.py), its control API, fault rules and guard (controls.py)."""

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
        # The check-mode write guard: while it forbids writes, every write is refused and kept as a violation.
        self.guard_writes = "allow"
        self.violations = []


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
        if sandbox.guard_refuses(request):
            # Before any fault rule: a write in check mode is refused whatever else is armed.
            entry["fault"] = "guard"
            response = sandbox.guard_response(request)
            entry["status"] = response.status
            self.record(entry)
            self.send(response)
            return
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
