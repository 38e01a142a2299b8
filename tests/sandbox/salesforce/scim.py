"""SCIM 2.0 Users of the sandbox org (reference section 7.1), on the same User records SOQL sees.

Salesforce specifics kept: the plural /ServiceProviderConfigs, a Profile entitlement is mandatory on create
(409 REQUIRED_FIELD_MISSING), externalId is the Federation ID, DELETE deactivates (no hard delete).
"""

import re
import time

from store import same_id, sf_datetime

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_RESULTS = 200
FILTER = re.compile(r'^\s*(userName|externalId|id|emails\.value|emails)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.I)


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self) -> dict:
        body = {"schemas": [ERROR_SCHEMA], "detail": self.detail, "status": self.status}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class Scim:
    def __init__(self, state):
        self.state = state

    def handle(self, method: str, path: str, query: dict, data, my_domain: str):
        """(status, JSON body) for /services/scim/v2/<path>; raises ScimError."""
        self.base = my_domain + "/services/scim/v2"
        parts = [p for p in path.split("/") if p]
        if parts == ["ServiceProviderConfigs"] and method == "GET":
            return 200, self.service_provider_config()
        if parts == ["Entitlements"] and method == "GET":
            resources = [{"id": p["Id"], "displayName": p["Name"], "type": "Profile"} for p in self.state.profiles]
            return 200, self.list_response(resources, 1, len(resources))
        if parts == ["Groups"] and method == "GET":
            return 200, self.list_response([], 1, 0)
        if parts == ["ResourceTypes"] and method == "GET":
            resources = [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User",
                          "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA}]
            return 200, self.list_response(resources, 1, 1)
        if parts and parts[0] == "Users":
            if len(parts) == 1 and method == "GET":
                return 200, self.list_users(query)
            if len(parts) == 1 and method == "POST":
                return 201, self.create(data)
            if len(parts) == 2:
                user = self.find(parts[1])
                if method == "GET":
                    return 200, self.resource(user)
                if method == "PUT":
                    return 200, self.replace(user, data)
                if method == "PATCH":
                    return 200, self.patch(user, data)
                if method == "DELETE":
                    user["IsActive"] = False  # Salesforce users are deactivated, never deleted
                    user["LastModifiedDate"] = sf_datetime(time.time())
                    return 204, None
        raise ScimError(404, "The requested resource does not exist")

    def service_provider_config(self):
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": MAX_RESULTS}, "changePassword": {"supported": True},
            "sort": {"supported": False}, "etag": {"supported": False},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                                       "description": "Authentication scheme using the OAuth Bearer Token"}],
        }

    def list_response(self, resources, start, total):
        return {"schemas": [LIST_SCHEMA], "totalResults": total, "itemsPerPage": len(resources),
                "startIndex": start, "Resources": resources}

    def list_users(self, query):
        users = self.state.users
        if query.get("filter"):
            match = FILTER.match(query["filter"])
            if not match:
                raise ScimError(400, "Unsupported filter: %s" % query["filter"], "invalidFilter")
            attribute, value = match.group(1).lower(), re.sub(r"\\(.)", r"\1", match.group(2))
            key = {"username": "Username", "externalid": "FederationIdentifier", "id": "Id"}.get(attribute, "Email")
            if key == "Id":
                users = [u for u in users if same_id(u["Id"], value)]
            else:
                users = [u for u in users if (u.get(key) or "").lower() == value.lower()]
        try:
            start = max(int(query.get("startIndex", 1)), 1)
            count = min(max(int(query.get("count", MAX_RESULTS)), 0), MAX_RESULTS)
        except ValueError:
            raise ScimError(400, "startIndex and count must be integers", "invalidValue")
        page = users[start - 1:start - 1 + count]
        return self.list_response([self.resource(u) for u in page], start, len(users))

    def find(self, user_id):
        user = self.state.user_by_id(user_id)
        if user is None:
            raise ScimError(404, "Resource %s not found" % user_id)
        return user

    def resource(self, user):
        profile = next((p for p in self.state.profiles if same_id(p["Id"], user["ProfileId"])), None)
        entitlements = []
        if profile:
            entitlements.append({"value": profile["Id"], "display": profile["Name"], "type": "Profile",
                                 "primary": True, "$ref": "%s/Entitlements/%s" % (self.base, profile["Id"])})
        return {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "id": user["Id"], "userName": user["Username"],
            "externalId": user["FederationIdentifier"],
            "name": {"formatted": user["Name"], "familyName": user["LastName"], "givenName": user["FirstName"]},
            "displayName": user["Name"], "nickName": user["CommunityNickname"],
            "emails": [{"type": "work", "primary": True, "value": user["Email"]}],
            "userType": "Standard", "preferredLanguage": user["LanguageLocaleKey"], "locale": user["LocaleSidKey"],
            "timezone": user["TimeZoneSidKey"], "active": user["IsActive"], "entitlements": entitlements,
            "groups": [],
            ENTERPRISE_SCHEMA: {"organization": self.state.organization["Name"]},
            "meta": {"created": user["CreatedDate"], "lastModified": user["LastModifiedDate"],
                     "location": "%s/Users/%s" % (self.base, user["Id"]), "resourceType": "User"},
        }

    # --- writes -----------------------------------------------------------------------------------------------

    def fields(self, data, user=None) -> dict:
        """User fields from a SCIM User representation (full replacement semantics)."""
        if not isinstance(data, dict):
            raise ScimError(400, "The request body must be a JSON object", "invalidSyntax")
        name = data.get("name") or {}
        emails = data.get("emails") or []
        email = next((e.get("value") for e in emails if isinstance(e, dict) and e.get("primary")), None)
        email = email or next((e.get("value") for e in emails if isinstance(e, dict)), None)
        profiles = [e.get("value") for e in data.get("entitlements") or []
                    if isinstance(e, dict) and e.get("type", "Profile") == "Profile"]
        fields = {"Username": data.get("userName"), "LastName": name.get("familyName"),
                  "FirstName": name.get("givenName") or "", "Email": email or data.get("userName"),
                  "FederationIdentifier": data.get("externalId"), "IsActive": data.get("active", True)}
        if data.get("nickName"):
            fields["CommunityNickname"] = data["nickName"]
        if not fields["Username"]:
            raise ScimError(409, "REQUIRED_FIELD_MISSING:Required fields are missing: [Username]")
        if not fields["LastName"]:
            raise ScimError(409, "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]")
        if len(profiles) != 1:
            raise ScimError(409, "REQUIRED_FIELD_MISSING:user_must_have_one_entitlement_which_must_be_a_profileid;")
        profile = self.state.profile(profiles[0] or "")
        if profile is None or profile["Name"] == profiles[0]:
            raise ScimError(409, "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id;")
        fields["ProfileId"] = profile["Id"]
        other = self.state.user_by_username(fields["Username"])
        if other is not None and other is not user:
            raise ScimError(409, "DUPLICATE_USERNAME:Duplicate Username.<br>The username already exists in this or "
                            "another Salesforce organization. Usernames must be unique across all Salesforce "
                            "organizations.;")
        return fields

    def create(self, data):
        fields = self.fields(data)
        username = fields.pop("Username")
        user = self.state.add_user(username, fields.pop("FirstName"), fields.pop("LastName"),
                                   fields.pop("ProfileId"), **fields)
        self.state.scim_user_ids.append(user["Id"])
        return self.resource(user)

    def replace(self, user, data):
        fields = self.fields(data, user)
        user.update(fields)
        self.touch(user)
        return self.resource(user)

    def patch(self, user, data):
        if not isinstance(data, dict) or PATCH_SCHEMA not in (data.get("schemas") or []):
            raise ScimError(400, "A PatchOp request is expected", "invalidSyntax")
        representation = self.resource(user)
        for operation in data.get("Operations") or []:
            op = str(operation.get("op", "")).lower()
            path, value = operation.get("path"), operation.get("value")
            if op not in ("add", "replace", "remove"):
                raise ScimError(400, "Unsupported operation: %s" % op, "invalidSyntax")
            if path is None:
                if not isinstance(value, dict) or op == "remove":
                    raise ScimError(400, "A path or an object value is required", "noTarget")
                for key, item in value.items():
                    self.set_path(representation, key, item, op)
            else:
                self.set_path(representation, path, None if op == "remove" else value, op)
        return self.replace(user, representation)

    def set_path(self, representation, path, value, op):
        top, _dot, sub = path.partition(".")
        known = {"userName", "externalId", "active", "nickName", "displayName", "name", "emails", "entitlements",
                 "title", "preferredLanguage", "locale", "timezone"}
        if top not in known:
            raise ScimError(400, "Unsupported path: %s" % path, "invalidPath")
        if sub:
            representation.setdefault(top, {})[sub] = value
        elif op == "add" and isinstance(representation.get(top), list) and top != "entitlements":
            representation[top] = representation[top] + (value if isinstance(value, list) else [value])
        elif top == "entitlements" and op == "add":
            # A new Profile entitlement replaces the profile; other kinds (permission sets) are not modelled.
            values = value if isinstance(value, list) else [value]
            added = [e for e in values if isinstance(e, dict) and e.get("type", "Profile") == "Profile"]
            representation[top] = added or representation[top]
        else:
            representation[top] = value

    def touch(self, user):
        user["Name"] = ("%s %s" % (user["FirstName"] or "", user["LastName"])).strip()
        user["LastModifiedDate"] = sf_datetime(time.time())
