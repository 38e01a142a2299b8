"""The recording server (tests/sandbox/recorder.py): the "other host" that the redirect tests point a client at.
Started by tests/support/sandboxes.py (recorder()), as the tests use it."""

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import TESTS, certificates, sandboxes, waits

TIMEOUT = 30


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    server = sandboxes.start(sandboxes.recorder(tmp_path_factory.mktemp("recorder")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def rec(plain):
    plain.reset()
    return plain


def test_records_every_request_as_received(rec):
    response = requests.post(rec.url + "/services/oauth2/token?x=1", data={"client_secret": "s3cret"},
                             headers={"Authorization": "Bearer tok"}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.json() == {}
    requests.request("PROPFIND", rec.url + "/odd", timeout=TIMEOUT)
    first, second = rec.requests()
    assert (first["seq"], first["scheme"], first["method"], first["path"]) == (
        1, "http", "POST", "/services/oauth2/token?x=1")
    headers = {key.lower(): value for key, value in first["headers"]}
    assert headers["authorization"] == "Bearer tok" and headers["host"] == rec.url.split("//")[1]
    assert first["body"] == "client_secret=s3cret"
    assert base64.b64decode(first["body_base64"]) == b"client_secret=s3cret"
    assert (second["method"], second["path"], second["body"]) == ("PROPFIND", "/odd", "")


def test_chunked_bodies_and_control_calls(rec):
    requests.put(rec.url + "/upload", data=iter([b"part one, ", b"part two"]), timeout=TIMEOUT)
    entry, = rec.requests()  # the control calls themselves are not recorded
    assert entry["body"] == "part one, part two"
    rec.clear()
    assert rec.requests() == []


def test_the_answer_can_be_configured(rec):
    rec.answer(status=418, headers={"Content-Type": "text/plain", "X-Recorder": "yes"}, body="teapot")
    response = requests.get(rec.url + "/anything", timeout=TIMEOUT)
    assert (response.status_code, response.headers["X-Recorder"], response.text) == (418, "yes", "teapot")
    with pytest.raises(RuntimeError, match="HTTP 400"):
        rec.control.call("POST", "answer", {"status": 200, "cookies": {}})
    with pytest.raises(RuntimeError, match="HTTP 400"):
        rec.control.call("POST", "answer", {"status": 99})
    rec.reset()
    assert requests.get(rec.url + "/anything", timeout=TIMEOUT).json() == {}


def test_https_on_another_loopback_host(tmp_path):
    files = certificates.tls_files(tmp_path, "127.0.0.2", ips=("127.0.0.2", "127.0.0.1"), dns=("localhost",))
    server = sandboxes.start(sandboxes.recorder(tmp_path, "tls", host="127.0.0.2", tls=files))
    try:
        assert server.url.startswith("https://127.0.0.2:")
        response = requests.post(server.url + "/x", json={"a": 1}, verify=str(files["ca"]), timeout=TIMEOUT)
        assert response.status_code == 200
        entry, = server.requests()
        assert (entry["scheme"], entry["method"], entry["body"]) == ("https", "POST", '{"a": 1}')
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_refuses_a_host_that_is_not_loopback(tmp_path):
    with pytest.raises(sandboxes.LaunchError, match="loopback"):
        sandboxes.start(sandboxes.recorder(tmp_path, "public", host="0.0.0.0"))


def _alive(pid):
    try:
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_exits_with_the_process_that_started_it(tmp_path):
    script = ("import os, sys\n"
              "sys.path.insert(0, sys.argv[1])\n"
              "from support import sandboxes\n"
              "print(sandboxes.start(sandboxes.recorder(sys.argv[2])).process.pid, flush=True)\n"
              "os._exit(0)  # gone without stopping it\n")
    done = subprocess.run([sys.executable, "-c", script, str(TESTS), str(tmp_path)], capture_output=True,
                          text=True, timeout=120, check=True)
    pid = int(done.stdout)
    waits.wait_until(lambda: not _alive(pid), "the recorder gone")
