# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``MetadataClient``: Metadata API CRUD over SOAP (read / create / update / upsert / delete of components).

The XML it sends and reads is built and parsed in ``_salesforce_soap``; the requests go through the session
(``_salesforce_session``), which carries the session id into every envelope, also after a re-login.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ansible_collections.sso.authentik.plugins.module_utils._http import WriteOutcomeUnknown
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import RestClient, checked_version
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_soap import (
    XSI_NS, check_name, child_text, children, local_name, metadata_to_xml, parse_xml, soap_envelope, soap_fault_of,
    xml_to_dict)

METADATA_MAX_ITEMS = 10  # per create/read/update/upsert/delete call


class MetadataClient:
    """Metadata API CRUD over SOAP at ``<instance_url>/services/Soap/m/<version>``.

    Components are dicts of field -> value (bool, int, str, nested dict, list); see ``METADATA_FIELDS``.
    """

    def __init__(self, session):
        self.session = session

    @property
    def path(self):
        return f"/services/Soap/m/{checked_version(RestClient(self.session).api_version)}"

    def read(self, type_name, names):
        """``readMetadata``. ``names`` is one name (returns a dict or None) or a list (returns a list aligned
        with it). A missing component comes back as an empty record (no fullName): None here."""
        single = isinstance(names, str)
        names = self._names(type_name, [names] if single else names)
        response = self._call("readMetadata", self._type_and_names(type_name, names), idempotent=True)
        records = []
        for result in children(response, "result"):
            records.extend(children(result, "records"))
        found = {}
        for record in records:
            # Records carry xsi:type; fall back to the requested type.
            record_type = (record.get(f"{{{XSI_NS}}}type") or type_name).rsplit(":", 1)[-1]
            value = xml_to_dict(record, record_type)
            if value.get("fullName") and isinstance(value["fullName"], str):
                found[value["fullName"]] = value
        values = [found.get(name) for name in names]
        return values[0] if single else values

    def create(self, type_name, components):
        try:
            return self._save("createMetadata", type_name, components, idempotent=False)
        except WriteOutcomeUnknown:
            # The answer was lost: the components may exist now. Read them, and create only those that do not.
            components = [components] if isinstance(components, dict) else list(components)
            found = self.read(type_name, [component["fullName"] for component in components])
            missing = [component for component, record in zip(components, found, strict=True) if record is None]
            results = [{"fullName": component["fullName"], "success": True, "errors": []}
                       for component, record in zip(components, found, strict=True) if record is not None]
            if missing:
                results += self._save("createMetadata", type_name, missing, idempotent=False)
            return results

    def update(self, type_name, components):
        return self._save("updateMetadata", type_name, components, idempotent=True)

    def upsert(self, type_name, components):
        """``upsertMetadata``: results carry ``created`` (True when the component was new)."""
        return self._save("upsertMetadata", type_name, components, idempotent=True)

    def delete(self, type_name, names):
        names = self._names(type_name, [names] if isinstance(names, str) else names)
        response = self._call("deleteMetadata", self._type_and_names(type_name, names), idempotent=False)
        return self._results("deleteMetadata", type_name, response)

    # -- internals ------------------------------------------------------------------------------------------

    def _names(self, type_name, names):
        check_name(type_name, "type")
        names = list(names)
        if not names or len(names) > METADATA_MAX_ITEMS:
            raise SalesforceError(f"Give 1 to {METADATA_MAX_ITEMS} {type_name} names per call, not {len(names)}")
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise SalesforceError(f"Invalid {type_name} name: {name!r}")
        return names

    @staticmethod
    def _type_and_names(type_name, names):
        return f"<met:type>{escape(type_name)}</met:type>" + "".join(
            f"<met:fullNames>{escape(name)}</met:fullNames>" for name in names)

    def _save(self, operation, type_name, components, idempotent):
        check_name(type_name, "type")
        components = [components] if isinstance(components, dict) else list(components)
        if not components or len(components) > METADATA_MAX_ITEMS:
            raise SalesforceError(
                f"Give 1 to {METADATA_MAX_ITEMS} {type_name} components per call, not {len(components)}")
        for component in components:
            if not isinstance(component, dict) or not component.get("fullName"):
                raise SalesforceError(f"Every {type_name} component needs a fullName")
        body = "".join(metadata_to_xml(type_name, component) for component in components)
        return self._results(operation, type_name, self._call(operation, body, idempotent=idempotent))

    def _call(self, operation, inner, idempotent):
        """POST one operation; returns the ``<operationResponse>`` element."""
        body = f"<met:{operation}>{inner}</met:{operation}>"
        what = f"Metadata API {operation} (POST {self.path})"
        response = self.session.request(
            "POST", self.path, data=lambda token: soap_envelope(token, body).encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": operation},
            idempotent=idempotent, bearer=False, operation=what)
        root = parse_xml(response.content, what)
        self._track_soap_limits(root)
        fault = soap_fault_of(root)
        if fault:
            raise SalesforceError(f"{what} failed: {fault[0]}: {fault[1]}", status=response.status_code, code=fault[0])
        element = next((el for el in root.iter() if local_name(el.tag) == operation + "Response"), None)
        if element is None:
            raise SalesforceError(f"{what}: the response has no {operation}Response element")
        return element

    def _results(self, operation, type_name, response):
        results, failures = [], []
        for element in children(response, "result"):
            result = {"fullName": child_text(element, "fullName") or "",
                      "success": (child_text(element, "success") or "").strip() == "true"}
            if child_text(element, "created") is not None:
                result["created"] = child_text(element, "created").strip() == "true"
            result["errors"] = [
                {"statusCode": child_text(error, "statusCode") or "", "message": child_text(error, "message") or "",
                 "fields": [field.text or "" for field in children(error, "fields")]}
                for error in children(element, "errors")
            ]
            results.append(result)
            if not result["success"]:
                failures.append(result)
        if failures:
            details = []
            for failure in failures:
                errors = "; ".join(
                    f"{error['statusCode']}: {error['message']}"
                    + (f" (fields: {', '.join(error['fields'])})" if error["fields"] else "")
                    for error in failure["errors"]) or "no error details"
                details.append(f"{type_name} {failure['fullName']!r}: {errors}")
            raise SalesforceError(f"Metadata API {operation} failed for " + "; ".join(details),
                                  code=(failures[0]["errors"] or [{}])[0].get("statusCode"))
        return results

    def _track_soap_limits(self, root):
        # A LimitInfoHeader (type "API REQUESTS") may come back in the SOAP header; keep it like Sforce-Limit-Info.
        for info in (el for el in root.iter() if local_name(el.tag) == "limitInfo"):
            current, limit = (child_text(info, "current") or "").strip(), (child_text(info, "limit") or "").strip()
            if (child_text(info, "type") or "").strip() == "API REQUESTS" and current.isdigit() and limit.isdigit():
                self.session.api_usage = {"used": int(current), "limit": int(limit)}
