"""Write a self-signed certificate and its key for the tests: make_cert.py DIR NAME DAYS [rsa|ec]."""

import datetime
import pathlib
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

directory, name, days = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
kind = sys.argv[4] if len(sys.argv) > 4 else "rsa"
key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
now = datetime.datetime.now(datetime.timezone.utc)
start = now - datetime.timedelta(days=1 if days > 0 else 10)
cert = (
    x509.CertificateBuilder()
    .subject_name(subject)
    .issuer_name(subject)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(start)
    .not_valid_after(now + datetime.timedelta(days=days))
    .sign(key, hashes.SHA256())
)
directory.mkdir(parents=True, exist_ok=True)
(directory / (name + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
(directory / (name + ".key")).write_bytes(
    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
