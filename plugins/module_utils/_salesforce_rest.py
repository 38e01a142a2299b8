# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The REST data API and what its records hold.

- API versions: ``normalize_api_version`` (the option), ``MIN_API_VERSION``, ``checked_version`` (in a URL path).
- ``RestClient``: version discovery (once per session), SOQL queries (data and Tooling, every page), JSON requests;
  ``soql_quote`` makes a string literal of a value.
- Record ids: ``is_salesforce_id``, ``to_15``, ``to_18``, ``same_id``, ``same_record`` and ``record_id`` (the
  checked id of a query row).
"""

from __future__ import annotations

import re

from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError, response_json

MIN_API_VERSION = "60.0"
_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}$")


# -- API versions -------------------------------------------------------------------------------------------------

def normalize_api_version(value):
    """'63', 63.0, 'v63.0' -> '63.0'; refuse versions older than MIN_API_VERSION."""
    match = re.match(r"^v?(\d+)(?:\.(\d+))?$", str(value).strip())
    if not match:
        raise SalesforceError(f"api_version must look like 63.0, got {value!r}")
    version = f"{int(match.group(1))}.{int(match.group(2) or 0)}"
    if _version_key(version) < _version_key(MIN_API_VERSION):
        raise SalesforceError(f"api_version {version} is older than {MIN_API_VERSION}, the oldest supported version")
    return version


def _version_key(version):
    return tuple(int(part) for part in version.split("."))


def checked_version(version):
    """An API version as it goes into a URL path: digits and one dot, nothing that could change the target."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise SalesforceError(f"Refusing to use {version!r} as the API version in a URL path")
    return version


# -- REST ---------------------------------------------------------------------------------------------------------

class RestClient:
    """REST data API: version discovery, SOQL queries (data and Tooling) and plain JSON requests."""

    def __init__(self, session):
        self.session = session

    def versions(self):
        """``GET /services/data/``: every version the org supports (cached per session)."""
        if self.session.versions_cache is None:
            body = self.request("GET", "/services/data/")
            versions = [item for item in body if isinstance(item, dict) and isinstance(item.get("version"), str)
                        and _VERSION.match(item["version"])] if isinstance(body, list) else []
            if not versions:
                raise SalesforceError("GET /services/data/ returned no API versions (expected a list of "
                                      "{\"version\": \"63.0\", ...}); is instance_url a Salesforce org?")
            self.session.versions_cache = versions
        return self.session.versions_cache

    @property
    def api_version(self):
        """The pinned ``api_version`` or else the newest the org supports (discovered once per session)."""
        if self.session.api_version is None:
            newest = max((v["version"] for v in self.versions()), key=_version_key)
            if _version_key(newest) < _version_key(MIN_API_VERSION):
                raise SalesforceError(
                    f"The org's newest API version is {newest}; this collection needs {MIN_API_VERSION} or newer")
            self.session.api_version = newest
        return self.session.api_version

    def data_path(self, path=""):
        return f"/services/data/v{checked_version(self.api_version)}/{path.lstrip('/')}"

    def request(self, method, path, params=None, json=None, idempotent=None):
        """JSON request; ``path`` is absolute (``/services/...``) or relative to ``/services/data/vXX.X/``."""
        if not path.startswith("/services/"):
            path = self.data_path(path)
        response = self.session.request(method, path, params=params, json=json, idempotent=idempotent,
                                        headers={"Accept": "application/json"})
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response_json(response)
        except ValueError:
            raise SalesforceError(f"{method} {path} returned a body that is not JSON") from None

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def query(self, soql, tooling=False):
        """All records of a SOQL query, following ``nextRecordsUrl`` pages."""
        body = self.request("GET", "tooling/query" if tooling else "query", params={"q": soql})
        records = _records(body, soql)
        while body.get("done") is False and body.get("nextRecordsUrl"):
            next_url = body["nextRecordsUrl"]
            if not isinstance(next_url, str) or not next_url.startswith("/services/data/") or ".." in next_url:
                raise SalesforceError(f"The query {soql!r} answered a nextRecordsUrl that is not a query page of "
                                      f"this org: {next_url!r}")
            body = self.request("GET", next_url)
            records.extend(_records(body, soql))
        return records


def _records(body, soql):
    """The records of one query page: a list of objects, or a sentence saying what came instead."""
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise SalesforceError(f"The query {soql!r} returned something that is not a query result "
                              f"(expected {{\"records\": [...]}}, got {type(body).__name__})")
    return records


_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def soql_quote(value):
    """A SOQL string literal: ``O'Brien`` -> ``'O\\'Brien'``."""
    if not isinstance(value, str):
        raise TypeError("soql_quote takes a string")
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


# -- record ids ---------------------------------------------------------------------------------------------------

_ID_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def _id_checksum(id15):
    # Per chunk of 5 characters: bit i is set when character i is an upper-case letter.
    return "".join(
        _ID_CHECKSUM_ALPHABET[sum(1 << i for i, char in enumerate(id15[start:start + 5]) if "A" <= char <= "Z")]
        for start in (0, 5, 10)
    )


def is_salesforce_id(value):
    """True for a 15-character id, or an 18-character id whose checksum matches."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:] == _id_checksum(value[:15])


def to_18(sf_id):
    """15- (or 18-) character id -> 18-character id."""
    if not is_salesforce_id(sf_id):
        raise SalesforceError(f"{sf_id!r} is not a Salesforce id (15 letters/digits, or 18 with a valid checksum)")
    return sf_id[:15] + _id_checksum(sf_id[:15])


def to_15(sf_id):
    """18- (or 15-) character id -> the case-sensitive 15-character id."""
    if not is_salesforce_id(sf_id):
        raise SalesforceError(f"{sf_id!r} is not a Salesforce id (15 letters/digits, or 18 with a valid checksum)")
    return sf_id[:15]


def same_id(first, second):
    """Whether two ids (15 or 18 characters) name the same record."""
    return to_15(first) == to_15(second)


def same_record(current, desired):
    """Compare record ids Salesforce may return 15 or 18 characters long (None and '' are equal)."""
    if not current or not desired:
        return not current and not desired
    if is_salesforce_id(str(current)) and is_salesforce_id(str(desired)):
        return same_id(current, desired)
    return current == desired


def record_id(row, what):
    """The 18-character id of a query row; a sentence naming ``what`` when the row has no valid Id."""
    ident = row.get("Id")
    if not is_salesforce_id(ident if isinstance(ident, str) else None):
        raise SalesforceError(f"Salesforce returned a {what} record without a valid Id: {ident!r}")
    return to_18(ident)
