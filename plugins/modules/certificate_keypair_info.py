#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: certificate_keypair_info
short_description: Read an authentik certificate and its fingerprints
version_added: 0.1.0
description:
  - Returns the PEM certificate of an authentik key pair with its SHA-256 and SHA-1 fingerprints, subject,
    issuer and validity (RV(certificate)), for example to give Salesforce the certificate that signs authentik's
    SAML assertions.
  - The module changes nothing, neither in authentik nor on the host it runs on. To keep the certificate in a file,
    give RV(certificate.pem) to M(ansible.builtin.copy) (see the examples).
  - The private key is never read, so it is never returned; an answer of the server that carries a private key
    block is refused rather than returned.
options:
  name:
    description: Name of the key pair.
    type: str
    required: true
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.attributes.info
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Fetch the SAML signing certificate for Salesforce
  sso.authentik.certificate_keypair_info:
    name: authentik Self-signed Certificate
  register: signing

- name: Keep it in a file (a certificate is public; a key file would take mode 0600)
  ansible.builtin.copy:
    content: "{{ signing.certificate.pem }}"
    dest: /etc/ssl/authentik-signing.pem
    mode: "0644"

- name: Show its fingerprint
  ansible.builtin.debug:
    msg: "{{ signing.certificate.fingerprint_sha256 }}"
"""

RETURN = r"""
certificate:
  description: The certificate of the key pair (never its private key).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the key pair.
      type: str
    pk:
      description: Id of the key pair.
      type: str
    pem:
      description: The certificate, PEM encoded, ending with a newline.
      type: str
    fingerprint_sha256:
      description: SHA-256 fingerprint, colon-separated lowercase hex.
      type: str
    fingerprint_sha1:
      description: SHA-1 fingerprint, colon-separated lowercase hex.
      type: str
    subject:
      description: Subject, RFC 4514.
      type: str
    issuer:
      description: Issuer, RFC 4514.
      type: str
    serial_number:
      description: Serial number, hex.
      type: str
    not_before:
      description: Start of validity, ISO 8601 UTC.
      type: str
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
    private_key_available:
      description: Whether authentik holds the private key (needed to sign). The key itself is not returned.
      type: bool
    key_type:
      description: Key algorithm as authentik reports it (V(rsa), V(ec), ...).
      type: str
"""

from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikError, AuthentikInfo
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field, path_segment

PATH = "/crypto/certificatekeypairs/"


def read_certificate(client, name):
    keypair = client.find(PATH, {"name": name}, "certificate key pair")
    if keypair is None:
        raise EngineError("certificate key pair %r does not exist." % name)
    path = "%s%s/view_certificate/" % (PATH, path_segment(keypair.get("pk"), "certificate key pair id"))
    pem = client.get_object(path, keys=("data",))["data"]
    if not isinstance(pem, str):
        raise AuthentikError("GET /api/v3%s: 'data' is not a PEM text." % path)
    if any(crypto.is_private_key_label(label) for label in crypto.pem_labels(pem)):
        # Never returned, nor quoted: the certificate view of the server is not where a key belongs.
        raise AuthentikError("GET /api/v3%s: the answer holds a private key besides the certificate; refusing to "
                             "return it." % path)
    facts = crypto.certificate_facts(pem)
    facts.update(name=keypair.get("name"), pk=keypair["pk"], key_type=keypair.get("key_type"),
                 private_key_available=keypair.get("private_key_available"))
    return facts


class CertificateInfo(AuthentikInfo):
    fields = (Field("name", required=True, check="identifier"),)
    import_errors = AuthentikInfo.import_errors + (("cryptography", crypto.CRYPTOGRAPHY_IMPORT_ERROR),)

    def gather(self):
        return {"certificate": read_certificate(self.client, self.params["name"])}


def main():
    CertificateInfo().run()


if __name__ == "__main__":
    main()
