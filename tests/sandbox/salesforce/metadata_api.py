"""Metadata API (SOAP) CRUD for the types the collection manages, validated against the WSDL.

Call-level problems are SOAP faults (HTTP 500); per-component problems are `success=false` results with
`errors` (HTTP 200), as the real API answers (metadata_base.py; the per-type rules are in metadata_rules.py).
Where the public sources leave a behaviour open, the choice made here is marked "(guess)" with the reason.
"""

import copy
import time

from metadata_base import (DEV_NAME, DEV_NAME_MESSAGE, IMPLEMENTED, MAX_COMPONENTS, WRITE_OPERATIONS, Context, Fault,
                           error, is_true, iso, trimmed)
from metadata_rules import RULES, Rules
from schema import MD_NS, SOAP_NS, XSI_NS, XSI_TYPE, SchemaError, parse_xml, resolve_qname, split_tag


class Call:
    """A parsed request: what the log and the fault rules need, before anything is checked."""

    def __init__(self):
        self.operation = None
        self.types = []
        self.session_id = None
        self.error = None  # Fault found while reading the envelope
        self.root = self.scopes = self.body = self.header = None
        self.items = []  # per written component: {"fullName", "fields"}

    @property
    def write(self) -> bool:
        return self.operation in WRITE_OPERATIONS


def inspect(data: bytes) -> Call:
    call = Call()
    try:
        call.root, call.scopes = parse_xml(data)
    except Exception as exc:  # ParseError and friends: not well-formed XML
        call.error = Fault("soapenv:Client", "Unable to parse the request: %s" % exc)
        return call
    if call.root.tag != "{%s}Envelope" % SOAP_NS:
        call.error = Fault("soapenv:VersionMismatch", "Expected a SOAP 1.1 Envelope, got %s" % call.root.tag)
        return call
    call.header = call.root.find("{%s}Header" % SOAP_NS)
    call.body = call.root.find("{%s}Body" % SOAP_NS)
    operation = call.body[0] if call.body is not None and len(call.body) else None
    if operation is None:
        call.error = Fault("soapenv:Client", "The SOAP Body has no operation")
        return call
    ns, call.operation = split_tag(operation.tag)
    if ns != MD_NS:
        call.error = Fault("soapenv:Client", "No operation available for request %s, please check the WSDL for "
                           "the service." % operation.tag)
        return call
    type_element = operation.find("{%s}type" % MD_NS)
    if type_element is not None and type_element.text:
        call.types = [type_element.text.strip()]
    for item in operation.findall("{%s}metadata" % MD_NS):
        declared = item.get(XSI_TYPE)
        if declared:
            name = resolve_qname(declared, call.scopes.get(item, {}))[1]
            if name not in call.types:
                call.types.append(name)
    for query in operation.findall("{%s}queries/{%s}type" % (MD_NS, MD_NS)):
        call.types.append((query.text or "").strip())
    if call.header is not None:
        session = call.header.find("{%s}SessionHeader/{%s}sessionId" % (MD_NS, MD_NS))
        if session is not None:
            call.session_id = (session.text or "").strip()
    return call


class MetadataApi:
    def __init__(self, schema, state):
        self.schema = schema
        self.state = state

    def execute(self, call: Call, user: dict, my_domain: str, seq: int) -> str:
        """Run an authenticated call; returns the response envelope or raises Fault."""
        operation = call.operation
        if operation not in self.schema.operation_headers or operation not in self.schema.own_fields:
            raise Fault("soapenv:Client", "No operation available for request {%s}%s, please check the WSDL for "
                        "the service." % (MD_NS, operation))
        all_or_none = self.check_headers(call)
        element = call.body[0]
        if operation not in IMPLEMENTED:
            raise Fault("UNKNOWN_EXCEPTION", "%s is not implemented by the sandbox" % operation)
        with self.state.lock:
            # The call works on a copy that is committed only when it succeeds (AllOrNoneHeader rolls back).
            ctx = Context(self.state, self.schema, copy.deepcopy(self.state.metadata), my_domain, user)
            commit = call.write
            try:
                if operation in ("createMetadata", "updateMetadata", "upsertMetadata"):
                    results = self.save(ctx, call, element, operation, all_or_none, seq)
                else:
                    params = self.parse(element, operation, call)[0]
                    results = getattr(self, operation)(ctx, params, all_or_none)
            except Rollback as rollback:
                results, commit = rollback.results, False
            if commit:
                self.state.metadata = ctx.metadata
                self.state.settings_writes.extend(ctx.settings_writes)
        return self.envelope(operation, results)

    def parse(self, element, type_name, call):
        try:
            return self.schema.parse(element, type_name, call.scopes)
        except SchemaError as exc:
            raise Fault("soapenv:Client", str(exc)) from None

    def check_headers(self, call) -> bool:
        """Validate the SOAP headers the operation accepts; returns the AllOrNoneHeader value."""
        all_or_none = False
        allowed = self.schema.operation_headers[call.operation]
        for header in call.header if call.header is not None else []:
            ns, local = split_tag(header.tag)
            if ns == MD_NS and local in allowed:
                values, missing = self.parse(header, local, call)
                if missing and local != "SessionHeader":
                    raise Fault("soapenv:Client", "Element {%s}%s is missing in %s" % (MD_NS, missing[0], local))
                if local == "AllOrNoneHeader":
                    all_or_none = is_true(values.get("allOrNone"))
            elif header.get("{%s}mustUnderstand" % SOAP_NS) == "1":
                raise Fault("soapenv:MustUnderstand", "Did not understand header %s" % header.tag)
        return all_or_none

    def rules(self, type_name) -> Rules:
        if not type_name or not self.schema.is_metadata_type(type_name):
            raise Fault("INVALID_TYPE", "Unknown type: %s" % (type_name or ""))
        if type_name not in RULES:
            raise Fault("INVALID_TYPE", "The sandbox does not implement the metadata type %s" % type_name)
        return RULES[type_name]

    def names(self, params) -> list:
        names = params.get("fullNames", [])
        if len(names) > MAX_COMPONENTS:
            raise Fault("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than %d records in this "
                        "operation" % MAX_COMPONENTS)
        return names

    # --- operations -------------------------------------------------------------------------------------------

    def save(self, ctx, call, element, operation, all_or_none, seq):
        items = []
        for child in element:
            if split_tag(child.tag) != (MD_NS, "metadata"):
                raise Fault("soapenv:Client", "Element %s invalid at this location in type %s"
                            % (child.tag, operation))
            declared = child.get(XSI_TYPE)
            type_name = "Metadata"
            if declared:
                ns, type_name = resolve_qname(declared, call.scopes.get(child, {}))
                if not ns:
                    raise Fault("soapenv:Client", "Unable to find type %s: the xsi:type QName has no namespace "
                                "(bind its prefix to %s)" % (type_name, MD_NS))
                if ns != MD_NS or not self.schema.is_complex(type_name):
                    raise Fault("soapenv:Client", "Unable to find type {%s}%s" % (ns, type_name))
                if not self.schema.is_subtype(type_name, "Metadata"):
                    raise Fault("soapenv:Client", "Type %s is not a subtype of Metadata" % type_name)
            values, missing = self.parse(child, type_name, call)
            if type_name == "Metadata":
                raise Fault("INVALID_TYPE", "Must specify a concrete metadata type with xsi:type")
            items.append((type_name, values, missing))
        if len(items) > MAX_COMPONENTS:
            raise Fault("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than %d records in this "
                        "operation" % MAX_COMPONENTS)
        if len({item[0] for item in items}) > 1:
            # The docs require one type per call; the exact fault is not documented (guess).
            raise Fault("INVALID_TYPE", "All metadata in one call must be of the same type")
        results = []
        for type_name, values, missing in items:
            rules = self.rules(type_name)
            name = values.get("fullName", "").strip()
            call.items.append({"type": type_name, "fullName": name, "fields": [k for k in values if k != "fullName"]})
            result = self.save_one(ctx, rules, type_name, name, trimmed(values), missing, operation)
            if rules.settings_name and result["success"] == "true":
                ctx.settings_writes.append({"seq": seq, "operation": operation, "type": type_name,
                                            "fullName": name, "blocks": call.items[-1]["fields"]})
            results.append(result)
        return self.finish(results, all_or_none)

    def save_one(self, ctx, rules, type_name, name, values, missing, operation):
        result = {"fullName": name}
        if operation == "upsertMetadata":
            result["created"] = "false"
        records = ctx.records(type_name)
        existing = records.get(name)
        if rules.settings_name:
            exists = name == rules.settings_name
            existing = records.get(name) if exists else None
        else:
            exists = existing is not None
        errors = []
        if not name:
            errors.append(error("REQUIRED_FIELD_MISSING", "Required field is missing: fullName", "fullName"))
        elif operation == "createMetadata" and exists:
            errors.append(error("DUPLICATE_VALUE", "duplicate value found: fullName duplicates value on record with "
                                "id: %s" % (existing or {}).get("id", "<unknown>"), "fullName"))
        elif operation == "updateMetadata" and not exists:
            errors.append(error("INVALID_CROSS_REFERENCE_KEY", "No %s named: %s found" % (type_name, name)))
        elif not exists and rules.settings_name:
            errors.append(error("INVALID_CROSS_REFERENCE_KEY", "No %s named: %s found" % (type_name, name)))
        elif not exists and not DEV_NAME.match(name):
            errors.append(error("FIELD_INTEGRITY_EXCEPTION", DEV_NAME_MESSAGE, "fullName"))
        if not errors and not rules.settings_name:
            # Settings writes are partial; every other component is replaced whole, so required fields count.
            errors = [error("REQUIRED_FIELD_MISSING", "Required field is missing: %s" % path, path)
                      for path in missing]
        if not errors:
            errors = rules.check(ctx, name, values, existing["values"] if existing else None)
        if errors:
            result.update(errors=errors, success="false")
            return result
        stored = rules.prepare(ctx, name, values, existing["values"] if existing else None)
        now = time.time()
        if existing:
            existing.update(values=stored, modified=now)
        else:
            records[name] = {"id": self.state.new_id(rules.id_prefix), "created": now, "modified": now,
                             "values": stored}
            if operation == "upsertMetadata":
                result["created"] = "true"
            self.after_create(ctx, type_name, name, stored)
        result["success"] = "true"
        return result

    def after_create(self, ctx, type_name, name, values):
        if type_name == "ExtlClntAppGlobalOauthSettings" and ctx.switches["eca_auto_oauth_policies"]:
            # What a deploy does when the OAuth policies file is left out (reference 4.3); whether CRUD does it
            # too is open, hence a switch.
            app = values["externalClientApplication"]
            if "ExtlClntAppOauthConfigurablePolicies" not in RULES["ExternalClientApplication"].components(ctx, app):
                ctx.records("ExtlClntAppOauthConfigurablePolicies")[app + "_oauthPlcy"] = {
                    "id": self.state.new_id("0xP"), "created": time.time(), "modified": time.time(),
                    "values": {"fullName": app + "_oauthPlcy", "externalClientApplication": app,
                               "label": app + "_oauthPlcy"}}

    def finish(self, results, all_or_none):
        if all_or_none and any(r["success"] == "false" for r in results):
            raise Rollback(results)
        return results

    def readMetadata(self, ctx, params, all_or_none):
        rules = self.rules(params.get("type"))
        records = []
        for name in self.names(params):
            if rules.settings_name and name != rules.settings_name:
                record = None
            else:
                record = ctx.records(params["type"]).get(name)
            # A missing component is not an error: an empty record without fullName (reference 3.3).
            records.append((params["type"], rules.present(ctx, record) if record else None))
        return records

    def deleteMetadata(self, ctx, params, all_or_none):
        type_name = params.get("type")
        rules = self.rules(type_name)
        results = []
        for name in self.names(params):
            result = {"fullName": name}
            records = ctx.records(type_name)
            if rules.settings_name and name == rules.settings_name:
                errors = rules.check_delete(ctx, name)
            elif name not in records:
                errors = [error("INVALID_CROSS_REFERENCE_KEY", "No %s named: %s found" % (type_name, name))]
            else:
                errors = rules.check_delete(ctx, name)
            if errors:
                result.update(errors=errors, success="false")
            else:
                del records[name]
                result["success"] = "true"
            results.append(result)
        return self.finish(results, all_or_none)

    def renameMetadata(self, ctx, params, all_or_none):
        type_name = params.get("type")
        rules = self.rules(type_name)
        old, new = params.get("oldFullName", ""), params.get("newFullName", "")
        records = ctx.records(type_name)
        result = {"fullName": new}
        if rules.settings_name:
            errors = [error("INVALID_OPERATION", "Settings can't be renamed")]
        elif old not in records:
            errors = [error("INVALID_CROSS_REFERENCE_KEY", "No %s named: %s found" % (type_name, old))]
        elif new in records:
            errors = [error("DUPLICATE_VALUE", "duplicate value found: fullName duplicates value on record with "
                            "id: %s" % records[new]["id"], "fullName")]
        elif not DEV_NAME.match(new):
            errors = [error("FIELD_INTEGRITY_EXCEPTION", DEV_NAME_MESSAGE, "fullName")]
        elif type_name == "ExternalClientApplication" and RULES[type_name].components(ctx, old):
            errors = [error("DEPENDENCY_EXISTS", "Cannot rename an external client app that has components")]
        else:
            errors = []
            records[new] = records.pop(old)
            records[new]["values"]["fullName"] = new
        if errors:
            result.update(errors=errors, success="false")
        else:
            result["success"] = "true"
        return [result]

    def listMetadata(self, ctx, params, all_or_none):
        queries = params.get("queries", [])
        if len(queries) > 3:
            raise Fault("UNKNOWN_EXCEPTION", "At most 3 queries in one listMetadata call")
        admin = ctx.state.my_domain_user()
        out = []
        for query in queries:
            type_name = query.get("type")
            rules = self.rules(type_name)
            for name, record in sorted(ctx.records(type_name).items()):
                out.append({
                    "createdById": admin["Id"], "createdByName": admin["Name"], "createdDate": iso(record["created"]),
                    "fileName": "%s/%s.%s" % (rules.directory, name, rules.suffix), "fullName": name,
                    "id": record["id"], "lastModifiedById": admin["Id"], "lastModifiedByName": admin["Name"],
                    "lastModifiedDate": iso(record["modified"]), "manageableState": "unmanaged", "type": type_name,
                })
        return out

    def describeMetadata(self, ctx, params, all_or_none):
        objects = [{"directoryName": rules.directory, "inFolder": "false", "metaFile": "false",
                    "suffix": rules.suffix, "xmlName": type_name} for type_name, rules in RULES.items()]
        return {"metadataObjects": objects, "organizationNamespace": "", "partialSaveAllowed": "true",
                "testRequired": "false"}

    # --- responses --------------------------------------------------------------------------------------------

    def envelope(self, operation, results) -> str:
        if operation == "readMetadata":
            records = []
            for type_name, values in results:
                if values is None:
                    records.append('<records xsi:nil="true"/>')
                else:
                    records.append('<records xsi:type="%s">%s</records>'
                                   % (type_name, self.schema.serialize(type_name, values)))
            inner = "<result>%s</result>" % "".join(records)
        elif operation == "describeMetadata":
            inner = "<result>%s</result>" % self.schema.serialize("DescribeMetadataResult", results)
        else:
            result_type = {"upsertMetadata": "UpsertResult", "deleteMetadata": "DeleteResult",
                           "listMetadata": "FileProperties"}.get(operation, "SaveResult")
            inner = "".join("<result>%s</result>" % self.schema.serialize(result_type, r) for r in results)
        return (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns="%s" xmlns:xsi="%s">'
            "<soapenv:Body><%sResponse>%s</%sResponse></soapenv:Body></soapenv:Envelope>"
            % (SOAP_NS, MD_NS, XSI_NS, operation, inner, operation)
        )


class Rollback(Exception):
    """AllOrNoneHeader: one component failed, so nothing is saved and the others report the rollback."""

    def __init__(self, results):
        super().__init__("rolled back")
        for result in results:
            if result["success"] == "true":
                result["success"] = "false"
                result["created"] = "false" if "created" in result else None
                result["errors"] = [error("ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                          "Record rolled back because not all records were valid and the request "
                                          "was using AllOrNone header")]
        self.results = [{k: v for k, v in r.items() if v is not None} for r in results]
