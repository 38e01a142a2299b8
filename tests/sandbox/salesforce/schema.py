"""The Metadata API contract: the WSDL bundled in simple-salesforce, loaded into a small schema model.

`Schema.parse()` turns a request element into plain values (dict / list / str) while checking it the way
Salesforce's SOAP parser does: element names and their order per the complexType sequence (base type first),
the target namespace, `xsi:type` of polymorphic elements, enumerations, booleans, ints, doubles. What it cannot
accept raises `SchemaError` (the sandbox answers with a SOAP fault). Missing required elements are not a
parser error at Salesforce (the save fails per component with REQUIRED_FIELD_MISSING), so they are returned
to the caller instead. `Schema.serialize()` writes values back in sequence order.
"""

import importlib.util
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSI_TYPE = "{%s}type" % XSI_NS
XSI_NIL = "{%s}nil" % XSI_NS

_X = "{%s}" % XSD_NS
_W = "{%s}" % WSDL_NS
_INT = re.compile(r"[+-]?\d+$")
_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^(NaN|INF|-INF)$")
_DATE = re.compile(r"-?\d{4,}-\d\d-\d\d(Z|[+-]\d\d:\d\d)?$")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_TIME = re.compile(r"\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


class SchemaError(Exception):
    """The body is not what the WSDL accepts; Salesforce answers with a `soapenv:Client` fault."""


def locate_wsdl() -> Path:
    """simple_salesforce/metadata.wsdl, found without importing the package (its imports need zeep)."""
    spec = importlib.util.find_spec("simple_salesforce")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the Salesforce sandbox needs the PyPI package simple-salesforce (its metadata.wsdl)")
    for location in spec.submodule_search_locations:
        path = Path(location) / "metadata.wsdl"
        if path.is_file():
            return path
    raise SystemExit("simple-salesforce is installed but has no metadata.wsdl")


class Field:
    __slots__ = ("name", "type", "builtin", "required", "repeated")

    def __init__(self, node):
        self.name = node.get("name")
        ns_prefix, _colon, local = node.get("type").rpartition(":")
        self.type = local
        self.builtin = ns_prefix == "xsd"
        self.required = node.get("minOccurs", "1") != "0"
        self.repeated = node.get("maxOccurs", "1") != "1"


class Schema:
    def __init__(self, path: Path):
        root = ET.parse(path).getroot()
        schema = root.find("%stypes/%sschema" % (_W, _X))
        found = re.search(rb"Metadata API version ([\d.]+)", path.read_bytes()[:400])
        self.version = found.group(1).decode() if found else "?"
        self.bases = {}  # complexType -> base complexType (extension)
        self.own_fields = {}  # complexType or global element -> [Field] (its own sequence)
        self.enums = {}  # simpleType -> list of values (empty list: no enumeration)
        self.patterns = {}  # simpleType -> compiled pattern
        for node in schema:
            name = node.get("name")
            if node.tag == _X + "complexType":
                self._load_complex(name, node)
            elif node.tag == _X + "simpleType":
                restriction = node.find(_X + "restriction")
                self.enums[name] = [e.get("value") for e in restriction.findall(_X + "enumeration")]
                pattern = restriction.find(_X + "pattern")
                if pattern is not None:
                    self.patterns[name] = re.compile(pattern.get("value") + "$")
            elif node.tag == _X + "element":
                inner = node.find(_X + "complexType")
                if inner is not None:
                    self._load_complex(name, inner)
        self._fields_cache = {}
        # Which SOAP headers each operation accepts (the binding's soap:header parts).
        self.operation_headers = {}
        for binding in root.findall(_W + "binding"):
            for operation in binding.findall(_W + "operation"):
                parts = [h.get("part") for h in operation.iter("{http://schemas.xmlsoap.org/wsdl/soap/}header")]
                self.operation_headers[operation.get("name")] = parts

    def _load_complex(self, name, node):
        content = node.find(_X + "complexContent")
        if content is not None:
            extension = content.find(_X + "extension")
            self.bases[name] = extension.get("base").rpartition(":")[2]
            node = extension
        sequence = node.find(_X + "sequence")
        fields = []
        if sequence is not None:
            fields = [Field(e) for e in sequence.findall(_X + "element")]
        self.own_fields[name] = fields

    # --- type model -------------------------------------------------------------------------------------------

    def is_complex(self, name: str) -> bool:
        return name in self.own_fields

    def fields(self, name: str) -> list:
        """The full sequence of a complex type: inherited fields first, as XSD extension defines."""
        if name not in self._fields_cache:
            base = self.bases.get(name)
            self._fields_cache[name] = (self.fields(base) if base else []) + self.own_fields[name]
        return self._fields_cache[name]

    def field(self, type_name: str, field_name: str):
        return next((f for f in self.fields(type_name) if f.name == field_name), None)

    def is_subtype(self, name: str, ancestor: str) -> bool:
        while name:
            if name == ancestor:
                return True
            name = self.bases.get(name)
        return False

    def is_metadata_type(self, name: str) -> bool:
        return name != "Metadata" and self.is_complex(name) and self.is_subtype(name, "Metadata")

    # --- parsing ----------------------------------------------------------------------------------------------

    def parse(self, element, type_name: str, scopes: dict, path: str = ""):
        """Check `element` (of complex type `type_name`) and return (values, missing required paths)."""
        values, missing = {}, []
        fields = self.fields(type_name)
        position, seen = 0, set()
        for child in element:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            ns, local = split_tag(child.tag)
            index = None
            if ns == MD_NS:
                index = next((i for i in range(position, len(fields)) if fields[i].name == local), None)
            if index is None or (index == position and local in seen and not fields[index].repeated):
                raise SchemaError("Element %s invalid at this location in type %s" % (child.tag, type_name))
            position = index
            seen.add(local)
            field = fields[index]
            value, child_missing = self._parse_value(child, field, scopes, path + local)
            missing.extend(child_missing)
            if value is None:
                continue
            if field.repeated:
                values.setdefault(local, []).append(value)
            else:
                values[local] = value
        missing.extend(path + f.name for f in fields if f.required and f.name not in values)
        return values, missing

    def _parse_value(self, element, field, scopes, path):
        if element.get(XSI_NIL) in ("true", "1"):
            return None, []
        type_name, builtin = field.type, field.builtin
        declared = element.get(XSI_TYPE)
        if declared is not None:
            ns, local = resolve_qname(declared, scopes.get(element, {}))
            if ns == XSD_NS and builtin:
                type_name = local
            elif ns != MD_NS or not self.is_complex(local):
                raise SchemaError("Unable to find type {%s}%s" % (ns, local) if ns else "Unable to find type " + local)
            elif builtin or not self.is_subtype(local, type_name):
                raise SchemaError("Type %s is not a subtype of %s for element %s" % (local, type_name, field.name))
            else:
                type_name = local
        if not builtin and self.is_complex(type_name):
            return self.parse(element, type_name, scopes, path + ".")
        if len(element):
            raise SchemaError("Element %s invalid at this location in type %s" % (element[0].tag, type_name))
        return self.check_simple(element.text or "", type_name, builtin), []

    def check_simple(self, text: str, type_name: str, builtin: bool) -> str:
        """Validate one simple value; returns its normal form (booleans as true/false)."""
        # Whitespace is kept in strings (Salesforce trims them on save), collapsed in every other type.
        value = text if builtin and type_name == "string" else text.strip()
        if builtin:
            if type_name == "boolean":
                if value not in ("true", "false", "1", "0"):
                    raise SchemaError("'%s' is not a valid value for the type xsd:boolean" % value)
                return "true" if value in ("true", "1") else "false"
            if type_name == "int":
                if not _INT.match(value) or not -(2**31) <= int(value) < 2**31:
                    raise SchemaError("'%s' is not a valid value for the type xsd:int" % value)
                return str(int(value))
            checks = {"double": _DOUBLE, "date": _DATE, "dateTime": _DATETIME, "time": _TIME}
            if type_name in checks and not checks[type_name].match(value):
                raise SchemaError("'%s' is not a valid value for the type xsd:%s" % (value, type_name))
            return value
        enum = self.enums.get(type_name)
        if enum and value not in enum:
            raise SchemaError("'%s' is not a valid value for the enum '%s'" % (value, type_name))
        pattern = self.patterns.get(type_name)
        if pattern and not pattern.match(value):
            raise SchemaError("'%s' is not a valid value for the type %s" % (value, type_name))
        return value

    # --- serialisation ----------------------------------------------------------------------------------------

    def serialize(self, type_name: str, values: dict) -> str:
        """Child elements of `values` in sequence order (unknown keys are a programming error)."""
        known = {f.name for f in self.fields(type_name)}
        unknown = set(values) - known
        if unknown:
            raise ValueError("%s has no fields %s" % (type_name, sorted(unknown)))
        out = []
        for field in self.fields(type_name):
            value = values.get(field.name)
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    out.append("<%s>%s</%s>" % (field.name, self.serialize(field.type, item), field.name))
                else:
                    out.append("<%s>%s</%s>" % (field.name, escape(item), field.name))
        return "".join(out)


def escape(value) -> str:
    text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False else str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_tag(tag: str):
    if tag.startswith("{"):
        ns, _brace, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def resolve_qname(qname: str, scope: dict):
    prefix, _colon, local = qname.strip().rpartition(":")
    return scope.get(prefix, ""), local


def parse_xml(data: bytes):
    """Parse a document and remember, per element, the namespace prefixes in scope (to resolve xsi:type)."""
    scopes, stack, pending = {}, [{}], []
    events = ET.iterparse(io.BytesIO(data), events=("start-ns", "start", "end"))
    for event, item in events:
        if event == "start-ns":
            pending.append(item)
        elif event == "start":
            scope = dict(stack[-1])
            scope.update(pending)
            pending = []
            stack.append(scope)
            scopes[item] = scope
        else:
            stack.pop()
    return events.root, scopes
