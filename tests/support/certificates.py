"""Keys and certificates for the tests: one builder for every self-signed certificate, CA and TLS server certificate.

    key = new_key()                               # RSA 2048 (new_key("ec"), new_key(size=1024) for a weak one)
    cert = certificate("idp", key, days=30)       # self-signed; days < 0: already expired
    cert_pem(cert), key_pem(key)                  # PEM text (the key unencrypted, PKCS#8)
    self_signed("idp")                            # (certificate PEM, key PEM) of a fresh pair
    ca = Authority("test CA")                     # a CA; ca.issue("127.0.0.1", ips=[...], dns=[...]) signs for it
    tls_files(directory, ...)                     # ca.crt, server.crt, server.key for a sandbox served over HTTPS

The sandbox servers make their own (tests/sandbox/authentik/state.py makes them as authentik does), and the
integration targets' make_cert.py stays standalone because ansible-test copies a target on its own.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def new_key(kind="rsa", size=2048):
    """A new private key: RSA (`size` bits) or EC (P-256)."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind != "rsa":
        raise ValueError("key kind %r: rsa or ec" % kind)
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def key_pem(key):
    """The private key as unencrypted PKCS#8 PEM text."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject, key, issuer=None, issuer_key=None, days=30, ca=None, ips=(), dns=(), key_id=False):
    """A certificate of `key` for `subject`, signed by issuer_key (self-signed without one).

    days: how long it is valid from now on; days < 0 makes it expired that many days ago (valid the day before).
    ca: True or False adds BasicConstraints (critical); ips and dns: a SubjectAlternativeName; key_id: a
    SubjectKeyIdentifier. `issuer` is the issuer's certificate (or x509.Name)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(days=days)
    not_before = min(now, not_after) - datetime.timedelta(days=1)
    issuer_name = issuer.subject if isinstance(issuer, x509.Certificate) else issuer
    builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer_name or name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    alternatives = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips] + [x509.DNSName(host) for host in dns]
    if alternatives:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    if key_id:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def self_signed(subject="idp", days=30, kind="rsa"):
    """(certificate PEM, PKCS#8 private key PEM) of a fresh self-signed certificate."""
    key = new_key(kind)
    return cert_pem(certificate(subject, key, days=days)), key_pem(key)


class Authority:
    """A certificate authority made for a test session; issue() signs server certificates."""

    def __init__(self, subject="sso.authentik test CA", days=30):
        self.key = new_key()
        self.cert = certificate(subject, self.key, days=days, ca=True)
        self.pem = cert_pem(self.cert)

    def issue(self, subject, days=30, ips=(), dns=()):
        """(certificate PEM, key PEM) for `subject`, signed by this CA."""
        key = new_key()
        return cert_pem(certificate(subject, key, self.cert, self.key, days=days, ca=False, ips=ips, dns=dns)), \
            key_pem(key)


def write_private(path, text):
    """Write a key (or anything secret) that only the owner may read."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def tls_files(directory, subject="127.0.0.1", ips=("127.0.0.1",), dns=("localhost",), authority=None):
    """Files to serve HTTPS with a private CA: {"ca", "cert", "key"} paths in `directory` (written there)."""
    authority = authority or Authority()
    cert, key = authority.issue(subject, ips=ips, dns=dns)
    directory.mkdir(parents=True, exist_ok=True)
    files = {"ca": directory / "ca.crt", "cert": directory / "server.crt", "key": directory / "server.key"}
    files["ca"].write_text(authority.pem, encoding="utf-8")
    files["cert"].write_text(cert, encoding="utf-8")
    write_private(files["key"], key)
    return files
