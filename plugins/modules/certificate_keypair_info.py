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
    issuer and validity, for example to give Salesforce the certificate that signs authentik's SAML assertions.
  - With O(dest), also writes the PEM file, only when its content differs; that is the only change the module
    makes. The private key is never read.
options:
  name:
    description: Name of the key pair.
    type: str
    required: true
  dest:
    description: Path of a file to write the PEM certificate to. Its parent directory must exist.
    type: path
extends_documentation_fragment:
  - sso.authentik.authentik
  - ansible.builtin.files
  - sso.authentik.attributes.info
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Fetch the SAML signing certificate for Salesforce
  sso.authentik.certificate_keypair_info:
    name: authentik Self-signed Certificate
    dest: /tmp/authentik-signing.pem
    mode: "0644"
  register: signing

- name: Show its fingerprint
  ansible.builtin.debug:
    msg: "{{ signing.certificate.fingerprint_sha256 }}"
"""

RETURN = r"""
certificate:
  description: The certificate of the key pair.
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
      description: The certificate, PEM encoded.
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
      description: Whether authentik holds the private key (needed to sign).
      type: bool
    key_type:
      description: Key algorithm as authentik reports it (C(rsa), C(ec), ...).
      type: str
dest:
  description: The file written, when O(dest) is set.
  returned: when dest is set
  type: str
"""

import os
import tempfile

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._authentik import (
    REQUESTS_IMPORT_ERROR,
    AuthentikClient,
    AuthentikError,
    authentik_argument_spec,
)
from ansible_collections.sso.authentik.plugins.module_utils._engine import (
    EngineError,
    SafeModule,
    check_identifier,
    path_segment,
)

PATH = "/crypto/certificatekeypairs/"


def read_certificate(client, name):
    keypair = client.find(PATH, {"name": name}, "certificate key pair")
    if keypair is None:
        raise EngineError("certificate key pair %r does not exist." % name)
    path = "%s%s/view_certificate/" % (PATH, path_segment(keypair.get("pk"), "certificate key pair id"))
    pem = client.get_object(path, keys=("data",))["data"]
    if not isinstance(pem, str):
        raise AuthentikError("GET /api/v3%s: 'data' is not a PEM text." % path)
    facts = crypto.certificate_facts(pem)
    facts.update(name=keypair.get("name"), pk=keypair["pk"], key_type=keypair.get("key_type"),
                 private_key_available=keypair.get("private_key_available"))
    return facts


def write_if_different(module, dest, content):
    """Write `content` to `dest` atomically when it differs; True when it did (or would, in check mode)."""
    try:
        with open(dest) as handle:
            if handle.read() == content:
                return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise EngineError("cannot read %s: %s" % (dest, exc))
    if not module.check_mode:
        directory = os.path.dirname(os.path.abspath(dest))
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".certificate_keypair_info")
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
        except OSError as exc:
            raise EngineError("cannot write %s: %s" % (dest, exc))
        module.atomic_move(tmp, dest)
    return True


def main():
    argument_spec = authentik_argument_spec()
    argument_spec.update(name=dict(type="str", required=True), dest=dict(type="path"))
    module = SafeModule(argument_spec=argument_spec, supports_check_mode=True, add_file_common_args=True)
    for library, error in (("requests", REQUESTS_IMPORT_ERROR), ("cryptography", crypto.CRYPTOGRAPHY_IMPORT_ERROR)):
        if error:
            module.fail_json(msg=missing_required_lib(library), exception=error)
    result = {"changed": False}
    try:
        check_identifier(module.params["name"], "name")
        client = AuthentikClient.from_params(module.params, scrubber=module.scrubber)
        for warning in client.warnings:
            module.warn(warning)
        result["certificate"] = read_certificate(client, module.params["name"])
        dest = module.params["dest"]
        if dest:
            dest = os.path.abspath(dest)  # atomic_move needs a directory part, even for a bare file name
            result["dest"] = dest
            result["changed"] = write_if_different(module, dest, result["certificate"]["pem"])
            file_args = module.load_file_common_arguments(module.params, path=dest)
            if not module.check_mode or os.path.exists(dest):
                result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    except EngineError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
