"""A small, strict SOQL engine for the queries the collection needs.

Understood: SELECT <field>[, <field>...] FROM <object> [WHERE <cond> [AND <cond>...]] [ORDER BY <field> [ASC|DESC]]
[LIMIT n], where a condition is `field = literal`, `field != literal` or `field IN (literal, ...)`, a literal is a
'string', a number, true, false or null, and a field may follow one relationship (User: Profile.Name).
Anything else is a 400 MALFORMED_QUERY; the sandbox never guesses. Errors carry Salesforce's message layout
(the query, a caret, "ERROR at Row:1:Column:N").
"""

import re

from store import id15, same_id, sf_datetime, to18


class SoqlError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# field name -> kind: id, ref:<Object>, string, boolean, number, datetime
OBJECTS = {
    "Organization": {
        "Id": "id", "Name": "string", "InstanceName": "string", "OrganizationType": "string", "IsSandbox": "boolean",
        "NamespacePrefix": "string", "Division": "string", "Country": "string", "LanguageLocaleKey": "string",
        "DefaultLocaleSidKey": "string", "TimeZoneSidKey": "string", "PrimaryContact": "string",
        "TrialExpirationDate": "datetime", "CreatedDate": "datetime",
    },
    "Profile": {
        "Id": "id", "Name": "string", "UserType": "string", "Description": "string", "UserLicenseId": "ref:UserLicense",
        "CreatedDate": "datetime", "LastModifiedDate": "datetime",
    },
    "User": {
        "Id": "id", "Username": "string", "Name": "string", "FirstName": "string", "LastName": "string",
        "Email": "string", "Alias": "string", "CommunityNickname": "string", "IsActive": "boolean",
        "ProfileId": "ref:Profile", "FederationIdentifier": "string", "UserType": "string",
        "TimeZoneSidKey": "string", "LocaleSidKey": "string", "LanguageLocaleKey": "string",
        "EmailEncodingKey": "string", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
    },
    "Certificate": {
        "Id": "id", "DeveloperName": "string", "MasterLabel": "string", "Language": "string",
        "NamespacePrefix": "string", "ExpirationDate": "datetime", "KeySize": "number",
        "OptionsIsPrivateKeyExportable": "boolean", "CreatedDate": "datetime",
    },
    "ApexClass": {
        "Id": "id", "Name": "string", "NamespacePrefix": "string", "ApiVersion": "number", "Status": "string",
        "IsValid": "boolean", "CreatedDate": "datetime",
    },
    "SamlSsoConfig": {
        "Id": "id", "DeveloperName": "string", "MasterLabel": "string", "Language": "string",
        "NamespacePrefix": "string", "Issuer": "string", "Audience": "string", "IdentityMapping": "string",
        "IdentityLocation": "string", "AttributeName": "string", "AttributeFormat": "string", "LoginUrl": "string",
        "LogoutUrl": "string", "ErrorUrl": "string", "OptionsSpInitBinding": "boolean",
        "OptionsUserProvisioning": "boolean", "OptionsRequireMfaSaml": "boolean",
        "RequestSignatureMethod": "string", "ValidationCert": "string", "SamlJitHandlerId": "ref:ApexClass",
        "ExecutionUserId": "ref:User", "SamlVersion": "string", "SingleLogoutUrl": "string",
        "SingleLogoutBinding": "string", "RequestSigningCertId": "ref:Certificate",
        "CreatedDate": "datetime", "LastModifiedDate": "datetime",
    },
}
RELATIONSHIPS = {("User", "Profile"): ("ProfileId", "Profile")}

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|[=<>,()])
""", re.VERBOSE)
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIMIT", "ORDER", "BY", "ASC", "DESC", "NULLS",
            "FIRST", "LAST", "OFFSET", "GROUP", "HAVING", "LIKE", "INCLUDES", "EXCLUDES", "TRUE", "FALSE", "NULL",
            "USING", "WITH", "FOR", "TYPEOF", "COUNT"}


class Query:
    def __init__(self, text: str):
        self.text = text
        self.tokens = self.tokenize(text)
        self.pos = 0
        self.fields = []  # (name, offset)
        self.object = None  # (name, offset)
        self.conditions = []  # (field, offset, operator, [values])
        self.order = None  # (field, offset, descending)
        self.limit = None
        self.parse()

    # --- syntax -----------------------------------------------------------------------------------------------

    def fail(self, code, message, offset):
        """Salesforce's error layout: the query, a caret under the column, the row and column, the message."""
        line_start = self.text.rfind("\n", 0, offset) + 1
        row = self.text.count("\n", 0, offset) + 1
        column = offset - line_start + 1
        raise SoqlError(code, "\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s"
                        % (self.text, " " * (column - 1), row, column, message))

    def tokenize(self, text):
        tokens, offset = [], 0
        while offset < len(text):
            match = TOKEN.match(text, offset)
            if not match:
                self.text = text
                self.fail("MALFORMED_QUERY", "line 1:%d no viable alternative at character '%s'"
                          % (offset, text[offset]), offset)
            if match.lastgroup != "space":
                value = match.group()
                kind = "keyword" if match.lastgroup == "name" and value.upper() in KEYWORDS else match.lastgroup
                tokens.append((kind, value, offset))
            offset = match.end()
        tokens.append(("eof", "<EOF>", len(text)))
        return tokens

    def peek(self):
        return self.tokens[self.pos]

    def take(self, kind=None, keyword=None):
        token = self.tokens[self.pos]
        if (kind and token[0] != kind) or (keyword and (token[0] != "keyword" or token[1].upper() != keyword)):
            self.fail("MALFORMED_QUERY", "unexpected token: '%s'" % token[1], token[2])
        self.pos += 1
        return token

    def at_keyword(self, keyword):
        token = self.peek()
        return token[0] == "keyword" and token[1].upper() == keyword

    def parse(self):
        self.take(keyword="SELECT")
        while True:
            token = self.take(kind="name")
            self.fields.append((token[1], token[2]))
            if self.peek()[1] != ",":
                break
            self.take()
        self.take(keyword="FROM")
        token = self.take(kind="name")
        self.object = (token[1], token[2])
        if self.at_keyword("WHERE"):
            self.take()
            self.conditions.append(self.condition())
            while self.at_keyword("AND"):
                self.take()
                self.conditions.append(self.condition())
        if self.at_keyword("ORDER"):
            self.take()
            self.take(keyword="BY")
            token = self.take(kind="name")
            descending = False
            if self.at_keyword("ASC") or self.at_keyword("DESC"):
                descending = self.take()[1].upper() == "DESC"
            self.order = (token[1], token[2], descending)
        if self.at_keyword("LIMIT"):
            self.take()
            token = self.take(kind="number")
            if not token[1].isdigit():
                self.fail("MALFORMED_QUERY", "unexpected token: '%s'" % token[1], token[2])
            self.limit = int(token[1])
        self.take(kind="eof")

    def condition(self):
        name, offset = self.take(kind="name")[1:]
        token = self.peek()
        if token[1] in ("=", "!="):
            operator = self.take()[1]
            return (name, offset, operator, [self.literal()])
        if token[1] == "<>":
            self.take()
            return (name, offset, "!=", [self.literal()])
        self.take(keyword="IN")
        self.expect("(")
        values = [self.literal()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.literal())
        self.expect(")")
        return (name, offset, "IN", values)

    def expect(self, symbol):
        token = self.take()
        if token[1] != symbol:
            self.fail("MALFORMED_QUERY", "unexpected token: '%s'" % token[1], token[2])

    def literal(self):
        kind, value, offset = self.peek()
        if kind == "string":
            self.take()
            return ("string", re.sub(r"\\(.)", r"\1", value[1:-1]), offset)
        if kind == "number":
            self.take()
            return ("number", float(value), offset)
        if kind == "keyword" and value.upper() in ("TRUE", "FALSE", "NULL"):
            self.take()
            return ({"TRUE": "boolean", "FALSE": "boolean", "NULL": "null"}[value.upper()],
                    {"TRUE": True, "FALSE": False, "NULL": None}[value.upper()], offset)
        return self.fail("MALFORMED_QUERY", "unexpected token: '%s'" % value, offset)


def canonical(name, options):
    """SOQL names are case-insensitive; answers use the canonical spelling."""
    return next((option for option in options if option.lower() == name.lower()), None)


class Engine:
    def __init__(self, state):
        self.state = state

    def rows(self, object_name):
        state = self.state
        if object_name == "Organization":
            return [state.organization]
        if object_name == "Profile":
            return state.profiles
        if object_name == "User":
            return state.users
        if object_name == "Certificate":
            return state.certificates
        if object_name == "ApexClass":
            return state.apex_classes
        return [self.saml_row(r) for r in state.metadata.get("SamlSsoConfig", {}).values()]

    def saml_row(self, record):
        """The read-only SamlSsoConfig object mirrors the metadata component."""
        v = record["values"]

        def ref(value):
            return to18(id15(value)) if id15(value) else value

        return {
            "Id": record["id"], "DeveloperName": v["fullName"], "MasterLabel": v.get("name"), "Language": "en_US",
            "NamespacePrefix": None, "Issuer": v.get("issuer"), "Audience": v.get("samlEntityId"),
            "IdentityMapping": v.get("identityMapping"), "IdentityLocation": v.get("identityLocation"),
            "AttributeName": v.get("attributeName"), "AttributeFormat": v.get("attributeNameIdFormat"),
            "LoginUrl": v.get("loginUrl"), "LogoutUrl": v.get("logoutUrl"), "ErrorUrl": v.get("errorUrl"),
            "OptionsSpInitBinding": v.get("redirectBinding") == "true",
            "OptionsUserProvisioning": v.get("userProvisioning") == "true", "OptionsRequireMfaSaml": False,
            "RequestSignatureMethod": v.get("requestSignatureMethod"), "ValidationCert": v.get("validationCert"),
            "SamlJitHandlerId": ref(v.get("samlJitHandlerId")), "ExecutionUserId": ref(v.get("executionUserId")),
            "SamlVersion": v.get("samlVersion"), "SingleLogoutUrl": v.get("singleLogoutUrl"),
            "SingleLogoutBinding": v.get("singleLogoutBinding"),
            "RequestSigningCertId": ref(v.get("requestSigningCertId")),
            "CreatedDate": sf_datetime(record["created"]), "LastModifiedDate": sf_datetime(record["modified"]),
        }

    def run(self, text: str, url_prefix: str):
        """(object name, list of result records) for a query, or SoqlError."""
        query = Query(text)
        name, offset = query.object
        object_name = canonical(name, OBJECTS)
        if object_name is None:
            query.fail("INVALID_TYPE", "sObject type '%s' is not supported. If you are attempting to use a custom "
                       "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                       "the describe call for the appropriate names." % name, offset)
        selected = [self.resolve(query, object_name, field, at) for field, at in query.fields]
        conditions = []
        for field, at, operator, values in query.conditions:
            path = self.resolve(query, object_name, field, at)
            kind = self.kind(object_name, path)
            for literal_kind, _value, literal_at in values:
                if kind == "boolean" and literal_kind not in ("boolean", "null"):
                    query.fail("INVALID_FIELD", "value of filter criterion for field '%s' must be of type boolean "
                               "and should not be enclosed in quotes" % path[-1], literal_at)
                if kind != "boolean" and kind != "number" and literal_kind in ("boolean", "number"):
                    expected = "id" if kind.startswith(("id", "ref")) else "string"
                    query.fail("INVALID_FIELD", "value of filter criterion for field '%s' must be of type %s and "
                               "should be enclosed in quotes" % (path[-1], expected), literal_at)
            conditions.append((path, kind, operator, [v[1] for v in values]))
        order = None
        if query.order:
            order = (self.resolve(query, object_name, query.order[0], query.order[1]), query.order[2])
        rows = [row for row in self.rows(object_name) if all(self.matches(object_name, row, c) for c in conditions)]
        if order:
            rows.sort(key=lambda row: (self.value(object_name, row, order[0]) is None,
                                       str(self.value(object_name, row, order[0]) or "").lower()),
                      reverse=order[1])
        if query.limit is not None:
            rows = rows[:query.limit]
        return object_name, [self.record(object_name, row, selected, url_prefix) for row in rows]

    def resolve(self, query, object_name, field, offset):
        """A field reference as a path: ("Name",) or ("Profile", "Name")."""
        parts = field.split(".")
        if len(parts) == 1:
            name = canonical(field, OBJECTS[object_name])
            if name is None:
                query.fail("INVALID_FIELD", "No such column '%s' on entity '%s'. If you are attempting to use a "
                           "custom field, be sure to append the '__c' after the custom field name. Please reference "
                           "your WSDL or the describe call for the appropriate names." % (field, object_name), offset)
            return (name,)
        relation = next((key for key in RELATIONSHIPS if key[0] == object_name and key[1].lower() == parts[0].lower()),
                        None)
        if relation is None or len(parts) != 2:
            query.fail("INVALID_FIELD", "Didn't understand relationship '%s' in field path. If you are attempting to "
                       "use a custom relationship, be sure to append the '__r' after the custom relationship name. "
                       "Please reference your WSDL or the describe call for the appropriate names."
                       % parts[0], offset)
        target = RELATIONSHIPS[relation][1]
        name = canonical(parts[1], OBJECTS[target])
        if name is None:
            query.fail("INVALID_FIELD", "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                       "field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                       "or the describe call for the appropriate names." % (parts[1], target), offset)
        return (relation[1], name)

    def kind(self, object_name, path):
        if len(path) == 2:
            return OBJECTS[RELATIONSHIPS[(object_name, path[0])][1]][path[1]]
        return OBJECTS[object_name][path[0]]

    def related(self, object_name, row, relation):
        key, target = RELATIONSHIPS[(object_name, relation)]
        return next((r for r in self.rows(target) if same_id(r["Id"], row.get(key) or "")), None)

    def value(self, object_name, row, path):
        if len(path) == 2:
            target = self.related(object_name, row, path[0])
            return target.get(path[1]) if target else None
        return row.get(path[0])

    def matches(self, object_name, row, condition):
        path, kind, operator, values = condition
        actual = self.value(object_name, row, path)
        hit = any(self.equal(kind, actual, value) for value in values)
        return not hit if operator == "!=" else hit

    @staticmethod
    def equal(kind, actual, expected):
        if expected is None or actual is None:
            return actual is None and expected is None
        if kind == "id" or kind.startswith("ref:"):
            return same_id(str(actual), str(expected))
        if kind in ("boolean", "number"):
            return actual == expected
        return str(actual).lower() == str(expected).lower()  # text comparison is case-insensitive

    def record(self, object_name, row, selected, url_prefix):
        out = {"attributes": {"type": object_name, "url": "%s/sobjects/%s/%s" % (url_prefix, object_name, row["Id"])}}
        for path in selected:
            if len(path) == 1:
                out[path[0]] = row.get(path[0])
                continue
            target_name = RELATIONSHIPS[(object_name, path[0])][1]
            target = self.related(object_name, row, path[0])
            if target is None:
                out[path[0]] = None
                continue
            nested = out.get(path[0]) or {"attributes": {
                "type": target_name, "url": "%s/sobjects/%s/%s" % (url_prefix, target_name, target["Id"])}}
            nested[path[1]] = target.get(path[1])
            out[path[0]] = nested
        return out
