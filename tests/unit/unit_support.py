"""Helpers shared by the unit tests (importable as `unit_support`: pytest puts this folder, which holds the
unit tests' conftest.py, on sys.path)."""

import datetime
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


class Response:
    """The part of a requests.Response the clients read."""

    def __init__(self, status, body=None, text=None, headers=None):
        self.status_code = status
        self.headers = headers or {}
        self.text = text if text is not None else ("" if body is None else json.dumps(body))
        self.content = self.text.encode()

    def json(self):
        return json.loads(self.text)


def self_signed(name="idp", days=30):
    """(certificate PEM, PKCS#8 private key PEM) of a fresh self-signed RSA certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def run_module(monkeypatch, capsys, module, args):
    """Run a module's main() as Ansible does, with `args`; returns its JSON result."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    getattr(ansible_warnings, "_global_warnings", {}).clear()
    with pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)
