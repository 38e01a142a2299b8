"""The recording server (tests/sandbox/recorder.py): the "other host" that the redirect tests point a client at."""

import base64
import datetime
import importlib.util
import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

RECORDER = Path(__file__).resolve().parents[2] / "sandbox" / "recorder.py"
TIMEOUT = 30


def _recorder_module():
    spec = importlib.util.spec_from_file_location("sandbox_recorder", RECORDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recorder = _recorder_module()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    server = recorder.Recorder(tmp_path_factory.mktemp("recorder")).start()
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
        rec.control("POST", "answer", {"status": 200, "cookies": {}})
    with pytest.raises(RuntimeError, match="HTTP 400"):
        rec.control("POST", "answer", {"status": 99})
    rec.reset()
    assert requests.get(rec.url + "/anything", timeout=TIMEOUT).json() == {}


def _tls_files(directory):
    """A CA and a certificate for 127.0.0.2, 127.0.0.1 and localhost signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject, key, issuer, issuer_key, ca):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.2")), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost")]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _key in range(2))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recorder test CA")])
    ca = build(ca_name, ca_key, ca_name, ca_key, True)
    cert = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.2")]), key, ca_name, ca_key, False)
    files = {name: directory / (name + ".pem") for name in ("ca", "cert", "key")}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return files


def test_https_on_another_loopback_host(tmp_path):
    files = _tls_files(tmp_path)
    server = recorder.Recorder(tmp_path, "tls", host="127.0.0.2", tls_cert=files["cert"], tls_key=files["key"],
                               ca_file=files["ca"]).start()
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
    with pytest.raises(RuntimeError, match="loopback"):
        recorder.Recorder(tmp_path, "public", host="0.0.0.0").start()


def _alive(pid):
    try:
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_exits_with_the_process_that_started_it(tmp_path):
    spec = importlib.util.spec_from_file_location("sandbox_waits", RECORDER.parent / "waits.py")
    waits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(waits)
    script = ("import importlib.util, os, sys\n"
              "spec = importlib.util.spec_from_file_location('recorder', sys.argv[1])\n"
              "module = importlib.util.module_from_spec(spec)\n"
              "spec.loader.exec_module(module)\n"
              "print(module.Recorder(sys.argv[2]).start().process.pid, flush=True)\n"
              "os._exit(0)  # gone without stopping it\n")
    done = subprocess.run([sys.executable, "-c", script, str(RECORDER), str(tmp_path)], capture_output=True,
                          text=True, timeout=120, check=True)
    pid = int(done.stdout)
    waits.wait_until(lambda: not _alive(pid), "the recorder gone")
