"""What the Metadata API sandbox shares: the operations, SOAP faults, per-component errors, and the
context a call works in.
"""

import re
import string
from datetime import datetime, timezone

from schema import MD_NS, SOAP_NS, XSI_NS, escape


WRITE_OPERATIONS = ("createMetadata", "updateMetadata", "upsertMetadata", "deleteMetadata", "renameMetadata")
IMPLEMENTED = WRITE_OPERATIONS + ("readMetadata", "listMetadata", "describeMetadata")
MAX_COMPONENTS = 10  # per create/read/update/upsert/delete call
DEV_NAME = re.compile(r"[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")
DEV_NAME_MESSAGE = (
    "The API Name can only contain underscores and alphanumeric characters. It must be unique, begin with a "
    "letter, not include spaces, not end with an underscore, and not contain two consecutive underscores."
)
KEY_CHARS = string.ascii_letters + string.digits + "._"


class Fault(Exception):
    """A SOAP fault: `code` is an exception code (sent as sf:CODE) or a qualified code like soapenv:Client."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def xml(self) -> str:
        if ":" in self.code:
            faultcode, faultstring, detail = self.code, self.message, ""
        else:
            faultcode, faultstring = "sf:" + self.code, "%s: %s" % (self.code, self.message)
            detail = (
                '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
                "<sf:exceptionCode>%s</sf:exceptionCode><sf:exceptionMessage>%s</sf:exceptionMessage>"
                "</sf:UnexpectedErrorFault></detail>" % (self.code, escape(self.message))
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns:sf="%s" '
            'xmlns:xsi="%s"><soapenv:Body><soapenv:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring>'
            "%s</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            % (SOAP_NS, MD_NS, XSI_NS, faultcode, escape(faultstring), detail)
        )


def error(code: str, message: str, *fields) -> dict:
    return {"fields": list(fields) or None, "message": message, "statusCode": code}


def is_true(value) -> bool:
    return value == "true"


def trimmed(values):
    """Salesforce trims leading and trailing whitespace of string values on save."""
    if isinstance(values, dict):
        return {key: trimmed(value) for key, value in values.items()}
    if isinstance(values, list):
        return [trimmed(value) for value in values]
    return values.strip() if isinstance(values, str) else values


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Context:
    """What the rules of one call may look at: the (working copy of the) metadata, the org, the caller."""

    def __init__(self, state, schema, metadata, my_domain, user):
        self.state = state
        self.schema = schema
        self.metadata = metadata
        self.my_domain = my_domain
        self.user = user
        self.switches = state.switches
        self.settings_writes = []  # which blocks each successful settings write carried

    def records(self, type_name) -> dict:
        return self.metadata.setdefault(type_name, {})

    def get(self, type_name, full_name):
        record = self.records(type_name).get(full_name)
        return record["values"] if record else None
