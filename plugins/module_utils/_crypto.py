# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate and key helpers: parse PEM, fingerprints in authentik's format, key/certificate checks, and the RS256
signature of the Salesforce JWT bearer login. The one file of the collection that imports cryptography."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import traceback

from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError

# Only the package is imported here (a few ms); its primitives (the Rust bindings, about 50 ms) are imported by the
# functions that parse, fingerprint or sign, so a module run that never does (a Salesforce module given only an
# access token, certificate_keypair generating its pair) does not pay for them.
try:
    import cryptography

    CRYPTOGRAPHY_VERSION = cryptography.__version__
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module through missing_required_lib
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


def _x509():
    """cryptography.x509, imported when a certificate is first read: the Salesforce modules other than
    salesforce_saml_sso_config load this file only to sign the JWT login, and x509 adds 20-80 ms to a module run."""
    from cryptography import x509

    return x509


_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def pem_labels(pem):
    """The labels of a PEM text's blocks, in order: ['CERTIFICATE', 'PRIVATE KEY', ...]."""
    return _BLOCK.findall(pem) if isinstance(pem, str) else []


def is_private_key_label(label):
    return "PRIVATE KEY" in label


def check_not_swapped(certificate, key, cert_option="certificate", key_option="private_key"):
    """A certificate option holding a key and a key option holding a certificate were swapped: say so, quoting
    neither."""
    if any(is_private_key_label(label) for label in pem_labels(certificate)) and \
            "CERTIFICATE" in pem_labels(key):
        raise EngineError("%s and %s are swapped: %s holds a private key and %s a certificate. Nothing was sent."
                          % (cert_option, key_option, cert_option, key_option))


def load_certificate(pem, option="certificate"):
    """The x509 certificate in a PEM text; a clear error naming the option otherwise.

    Only CERTIFICATE blocks are accepted (a chain is fine): a private key pasted into a certificate option is
    refused, never echoed, and never sent or stored as certificate data.
    """
    labels = pem_labels(pem)
    if any(is_private_key_label(label) for label in labels):
        raise EngineError("%s holds a private key (a '-----BEGIN ... PRIVATE KEY-----' block); give only the "
                          "certificate there, and the key in its own option. Nothing was sent." % option)
    if not isinstance(pem, str) or "CERTIFICATE" not in labels:
        raise EngineError("%s is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block)." % option)
    others = sorted({label for label in labels if label != "CERTIFICATE"})
    if others:
        raise EngineError("%s holds a %s block besides the certificate; give only PEM certificates."
                          % (option, others[0]))
    try:
        return _x509().load_pem_x509_certificate(pem.strip().encode())
    except ValueError as exc:
        raise EngineError("%s is not a valid PEM certificate: %s" % (option, exc))


def load_private_key(pem, option="private_key"):
    """The private key of a PEM text holding that key alone. Messages never quote the text or the parser's
    words about it."""
    labels = pem_labels(pem)
    if not isinstance(pem, str) or not any(is_private_key_label(label) for label in labels):
        raise EngineError("%s is not a PEM private key (expected a '-----BEGIN ... PRIVATE KEY-----' block)." % option)
    if len(labels) != 1:
        raise EngineError("%s holds %d PEM blocks; give the private key alone." % (option, len(labels)))
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except TypeError:
        raise EngineError("%s is encrypted; give the key without a passphrase." % option)
    except (ValueError, UnsupportedAlgorithm):
        raise EngineError("%s is not a valid PEM private key (its content cannot be read as a key)." % option)


def public_bytes(key):
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_key_matches(cert, key, cert_option="certificate", key_option="private_key"):
    if public_bytes(cert.public_key()) != public_bytes(key.public_key()):
        raise EngineError("%s does not belong to %s (their public keys differ)." % (key_option, cert_option))


def not_after(cert):
    try:
        return cert.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def not_before(cert):
    try:
        return cert.not_valid_before_utc
    except AttributeError:  # cryptography < 42
        return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def check_not_expired(cert, option="certificate"):
    expiry = not_after(cert)
    if expiry <= datetime.datetime.now(datetime.timezone.utc):
        raise EngineError("%s expired on %s; give a valid certificate." % (option, expiry.isoformat()))


def fingerprint(cert, algorithm="sha256"):
    """Colon-separated lowercase hex, the format of authentik's fingerprint_sha256 / fingerprint_sha1."""
    from cryptography.hazmat.primitives import hashes

    digest = cert.fingerprint(hashes.SHA256() if algorithm == "sha256" else hashes.SHA1())  # nosec - display only
    return ":".join("%02x" % b for b in digest)


def normalise_fingerprint(value):
    """Fingerprints compare equal whatever their case and separators."""
    return "".join(ch for ch in str(value or "").lower() if ch in "0123456789abcdef")


def certificate_der(value):
    """The DER bytes of a certificate given as PEM, or as Salesforce stores it (the base64 body, maybe wrapped);
    None for anything else (a fingerprint, an empty value)."""
    if not isinstance(value, str) or not value.strip():
        return None
    if "-----BEGIN" in value:
        from cryptography.hazmat.primitives import serialization

        return load_certificate(value).public_bytes(serialization.Encoding.DER)
    try:
        der = base64.b64decode("".join(value.split()), validate=True)
        _x509().load_der_x509_certificate(der)  # only a certificate counts (64 hex digits are base64 too)
    except ValueError:
        return None
    return der


def pem_fingerprint(value):
    """The SHA-256 fingerprint of a certificate given as PEM or as its base64 body (colon-separated lowercase hex),
    or the value itself when it is not a certificate (a fingerprint already)."""
    der = certificate_der(value)
    return ":".join("%02x" % b for b in hashlib.sha256(der).digest()) if der else value


def same_certificate(current, desired):
    """The one certificate comparison of the collection: a fingerprint, a PEM text or a Salesforce base64 body on
    either side; two empty values are the same (no certificate)."""
    return normalise_fingerprint(pem_fingerprint(current)) == normalise_fingerprint(pem_fingerprint(desired))


def pem_body(pem):
    """The base64 DER body of a PEM certificate on one line (what Salesforce stores)."""
    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(load_certificate(pem).public_bytes(serialization.Encoding.DER)).decode()


def certificate_facts(pem):
    cert = load_certificate(pem)
    return {
        "pem": pem if pem.endswith("\n") else pem + "\n",
        "fingerprint_sha256": fingerprint(cert, "sha256"),
        "fingerprint_sha1": fingerprint(cert, "sha1"),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": "%x" % cert.serial_number,
        "not_before": not_before(cert).isoformat(),
        "not_after": not_after(cert).isoformat(),
    }


def load_rsa_signing_key(pem, option="private_key"):
    """The RSA private key of an unencrypted PEM text (bytes), to sign RS256 JWTs with. Messages name the option and
    never quote the key."""
    if b"-----BEGIN" not in pem:
        raise EngineError("%s is not PEM text (no '-----BEGIN ... PRIVATE KEY-----' line)" % option)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise EngineError("%s is encrypted; give an unencrypted PEM private key" % option) from None
    except ValueError:
        raise EngineError("%s is not a valid PEM private key" % option) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise EngineError("%s must be an RSA private key (Salesforce verifies RS256 signatures)" % option)
    return key


def sign_rs256(key, data):
    """The RS256 signature of `data` (RSASSA-PKCS1-v1_5 with SHA-256), as a JWT carries it before base64url."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
