# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Salesforce modules build on: one org per module run, and Metadata API components as engine Resources.

- ``SalesforceClient``: the session, ``rest`` and ``metadata`` of one run, name-to-id lookups cached for the run
  (``lookup`` / ``resolve`` by a ``SoqlRef``: ``PROFILE``, ``USER``, ``CERTIFICATE``, ``APEX_CLASS``) and the org id.
- ``SalesforceMetadataResource``: the engine's transport for a module that manages one Metadata component.

A request from a module: ``SalesforceMetadataResource`` (find / create / update / delete) -> ``MetadataClient``
(``_salesforce_metadata``, the XML of ``_salesforce_soap``) or ``RestClient`` (``_salesforce_rest``) ->
``SalesforceSession`` (``_salesforce_session``: login of ``_salesforce_login``, retries) -> ``_http.Http``.
"""

from __future__ import annotations

import re

from ansible_collections.sso.authentik.plugins.module_utils._engine import InfoResource, Ref, Resource
from ansible_collections.sso.authentik.plugins.module_utils._http import REQUESTS_IMPORT_ERROR
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_errors import SalesforceError
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_login import (
    check_dependencies, salesforce_argument_spec, salesforce_module_kwargs)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_metadata import MetadataClient
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_rest import (
    RestClient, is_salesforce_id, record_id, same_id, soql_quote, to_18)
from ansible_collections.sso.authentik.plugins.module_utils._salesforce_session import SalesforceSession


class SoqlRef(Ref):
    """A record a person names (a profile name, a username, a certificate's API name), found by SOQL."""

    def __init__(self, sobject, what, by, tooling=False, key_prefix=None):
        super().__init__(sobject, what, by=by, id_field="Id")
        self.tooling = tooling  # Certificate and ApexClass are queried through the Tooling API
        self.key_prefix = key_prefix  # the first three characters of the object's ids: a value so spelled is an id

    def is_id(self, value):
        return bool(self.key_prefix) and is_salesforce_id(value) and value.startswith(self.key_prefix)


PROFILE = SoqlRef("Profile", "profile", "Name", key_prefix="00e")
USER = SoqlRef("User", "user", "Username", key_prefix="005")
CERTIFICATE = SoqlRef("Certificate", "certificate", "DeveloperName", tooling=True)
APEX_CLASS = SoqlRef("ApexClass", "Apex class", "Name", tooling=True)

_ORG_IN_IDENTITY_URL = re.compile(r"/id/(00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)/")
_ORG_IN_TOKEN = re.compile(r"^(00D[A-Za-z0-9]{12})!")


class SalesforceClient:
    """What a module needs of one org for one run: the session, REST, the Metadata API and cached name lookups."""

    def __init__(self, session):
        self.session = session
        self.rest = RestClient(session)
        self.metadata = MetadataClient(session)
        self._ids = {}  # (sobject, name) -> 18-character id, or None when the org has no such record

    @classmethod
    def from_params(cls, params, scrubber=None):
        return cls(SalesforceSession.from_params(params, scrubber=scrubber))

    @property
    def warnings(self):
        return self.session.warnings

    @property
    def instance_url(self):
        """The URL the token endpoint reported (the org's My Domain), else the one given."""
        return (self.session.login_info.get("instance_url") or self.session.instance_url).rstrip("/")

    def lookup(self, ref, names):
        """{name: 18-character id or None} for every name, with one SOQL query for those not looked up yet.

        SOQL compares text case-insensitively; when several records match a name that way, the one spelled exactly
        like it wins, and two or more exact matches are an error rather than a guess.
        """
        wanted = [name for name in dict.fromkeys(names) if (ref.path, name) not in self._ids]
        if wanted:
            quoted = ", ".join(soql_quote(name) for name in wanted)
            rows = self.rest.query(f"SELECT Id, {ref.by} FROM {ref.path} WHERE {ref.by} IN ({quoted})",
                                   tooling=ref.tooling)
            for name in wanted:
                matches = [row for row in rows if str(row.get(ref.by) or "").lower() == name.lower()]
                if len(matches) > 1:
                    matches = [row for row in matches if row.get(ref.by) == name]
                if len(matches) > 1:
                    raise SalesforceError(f"{len(matches)} {ref.what} records are named {name!r}; use a unique name")
                self._ids[(ref.path, name)] = record_id(matches[0], ref.what) if matches else None
        return {name: self._ids[(ref.path, name)] for name in names}

    def resolve(self, ref, value):
        return self.lookup(ref, [value])[value]

    def lookup_names_or_ids(self, ref, values):
        """{value: 18-character id or None}, where a value is a name or (spelled as the object's ids are) an id
        that must exist: one SOQL query for the names and one for the ids."""
        ids = [value for value in dict.fromkeys(values) if ref.is_id(value)]
        found = self.lookup(ref, [value for value in values if value not in ids])
        if ids:
            quoted = ", ".join(soql_quote(to_18(value)) for value in ids)
            rows = self.rest.query(f"SELECT Id FROM {ref.path} WHERE Id IN ({quoted})", tooling=ref.tooling)
            known = [record_id(row, ref.what) for row in rows]
            found.update({value: next((k for k in known if same_id(k, value)), None) for value in ids})
        return found

    def name_of(self, ref, ident):
        """The name a person used for an id looked up in this run (for diffs), else the id itself."""
        for (path, name), known in self._ids.items():
            if path == ref.path and known and is_salesforce_id(str(ident)) and same_id(known, ident):
                return name
        return ident

    def name_by_id(self, ref, ident):
        """The name of the record with this id (one SOQL query), or None."""
        rows = self.rest.query(f"SELECT Id, {ref.by} FROM {ref.path} WHERE Id = {soql_quote(to_18(ident))}",
                               tooling=ref.tooling)
        name = rows[0].get(ref.by) if rows else None
        if not isinstance(name, str):
            return None
        self._ids[(ref.path, name)] = record_id(rows[0], ref.what)
        return name

    def org_id(self):
        """The org's 18-character id: from the login (identity URL, or the token's prefix) when possible, so that
        no API call is spent on it; else from the Organization object."""
        token = self.session.access_token
        for pattern, text in ((_ORG_IN_IDENTITY_URL, self.session.login_info.get("id") or ""), (_ORG_IN_TOKEN, token)):
            match = pattern.search(text)
            if match and is_salesforce_id(match.group(1)):
                return to_18(match.group(1))
        rows = self.rest.query("SELECT Id FROM Organization")
        if not rows:
            raise SalesforceError("SELECT Id FROM Organization returned no row")
        return record_id(rows[0], "Organization")


class SalesforceMetadataResource(Resource):
    """A Resource stored as one Metadata API component (read / create / update / delete by its fullName).

    The engine compares a *view* of the component: ``from_metadata(record)`` turns what readMetadata returns into
    it (values Salesforce spells several ways normalised, derived keys added) and ``to_metadata(values)`` turns
    engine payloads back into component fields. An update sends the whole component (the Metadata API replaces a
    component with what it is sent), minus the fields that Salesforce generates.
    """

    metadata_type = None
    key = "name"
    generated = ()  # component fields Salesforce computes: never sent back
    mutually_exclusive = tuple(tuple(pair) for pair in salesforce_module_kwargs()["mutually_exclusive"])
    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)
    trims_text = True  # Salesforce strips leading and trailing whitespace of text on save

    def __init__(self):
        super().__init__()
        self.record = None  # the component as last read (None when absent)

    # -- transport --------------------------------------------------------------------------------------------

    def connection_spec(self):
        return salesforce_argument_spec()

    def connect(self):
        return SalesforceClient.from_params(self.params, scrubber=self.module.scrubber)

    def full_name(self):
        return self.params[self.key]

    def find(self):
        self.record = self.client.metadata.read(self.metadata_type, self.full_name())
        return None if self.record is None else self.from_metadata(self.record)

    def create(self, payload):
        component = self.to_metadata(dict(payload))
        component["fullName"] = self.full_name()
        self.client.metadata.create(self.metadata_type, component)
        return component

    def update(self, current, payload):
        component = {key: value for key, value in self.record.items() if key not in self.generated}
        component.update(self.to_metadata(dict(payload)))
        self.client.metadata.update(self.metadata_type, component)

    def delete(self, current):
        self.client.metadata.delete(self.metadata_type, self.full_name())

    def reread(self, obj):
        found = self.find()
        if found is None:
            raise SalesforceError(f"Salesforce accepted the {self.metadata_type} {self.full_name()!r} but "
                                  "readMetadata does not return it")
        return found

    def is_conflict(self, error):
        return getattr(error, "code", None) == "DUPLICATE_VALUE"

    # -- hooks ------------------------------------------------------------------------------------------------

    def from_metadata(self, record):
        return dict(record)

    def to_metadata(self, values):
        return values

    def reconcile(self):
        result = super().reconcile()
        result["api_usage"] = self.client.session.usage()  # calls spent, and the org's api-usage when reported
        return result


class SalesforceInfo(InfoResource):
    """A read-only Salesforce module: the connection options and login, the org client, `gather()` (see
    InfoResource), and the calls it spent in `api_usage`."""

    mutually_exclusive = SalesforceMetadataResource.mutually_exclusive
    import_errors = (("requests", REQUESTS_IMPORT_ERROR),)

    def connection_spec(self):
        return salesforce_argument_spec()

    def connect(self):
        check_dependencies(self.module)  # cryptography, when the login signs a JWT
        return SalesforceClient.from_params(self.params, scrubber=self.module.scrubber)

    def reconcile(self):
        result = super().reconcile()
        result["api_usage"] = self.client.session.usage()
        return result


class SalesforceComponentSet(SalesforceMetadataResource):
    """A Resource made of several Metadata components written in order (each needs the one before) and deleted in
    reverse, such as the External Client App and its policies and OAuth settings.

    ``components``: (alias, Metadata type, fullName suffix) tuples, the first one the parent. The engine compares a
    view that flattens them to ``alias.field`` keys (``derive(view, records)`` adds keys computed across
    components); ``split(payload)`` turns a payload back into fields per alias, and ``complete(alias, component)``
    adds what a component needs besides (a link to its parent...). Only components with a change are written.
    """

    components = ()
    generated = {}  # alias -> fields Salesforce computes: never sent back

    def __init__(self):
        super().__init__()
        self.records = {}  # alias -> component as read, or None
        self.written = ()

    def full_name_of(self, suffix):
        return self.full_name() + suffix

    def find(self):
        alias, type_name, suffix = self.components[0]
        self.records = {alias: self.client.metadata.read(type_name, self.full_name_of(suffix))}
        if self.records[alias] is not None:
            self.read_components(self.components[1:])
        return self.view()

    def read_components(self, components):
        for alias, type_name, suffix in components:
            self.records[alias] = self.client.metadata.read(type_name, self.full_name_of(suffix))

    def view(self):
        if self.records.get(self.components[0][0]) is None:
            return None
        view = {"%s.%s" % (alias, key): value for alias, record in self.records.items() for key, value in
                (record or {}).items()}
        self.derive(view, {alias: self.records.get(alias) or {} for alias, _type, _suffix in self.components})
        return view

    def derive(self, view, records):
        """Add the keys computed across components to `view` (records: alias -> component, {} when missing)."""

    def split(self, payload):
        parts = {alias: {} for alias, _type, _suffix in self.components}
        for key, value in payload.items():
            alias, _dot, field = key.partition(".")
            parts[alias][field] = value
        return parts

    def complete(self, alias, component):
        """Add to a component about to be written what it needs besides its changes."""

    def create(self, payload):
        self.save(payload)

    def update(self, current, payload):
        self.save(payload)

    def save(self, payload):
        parts = self.split(payload)
        written = []
        for index, (alias, type_name, suffix) in enumerate(self.components):
            record = self.records.get(alias)
            changes = {key: value for key, value in parts[alias].items() if record is None or record.get(key) != value}
            if record is not None and not changes:
                continue
            component = {key: value for key, value in (record or {}).items()
                         if key not in self.generated.get(alias, ())}
            component.update(changes, fullName=self.full_name_of(suffix))
            self.complete(alias, component)
            if record is not None:
                self.client.metadata.update(type_name, component)
            elif index == 0:
                self.client.metadata.create(type_name, component)  # DUPLICATE_VALUE: made meanwhile, converge
            else:  # upsert: Salesforce may have made a component along with another one
                self.client.metadata.upsert(type_name, component)
            written.append((alias, type_name, suffix))
        self.written = written

    def reread(self, obj):
        self.read_components(self.written)  # only what was written
        view = self.view()
        if view is None:
            raise SalesforceError(f"Salesforce accepted the {self.what} {self.full_name()!r} but readMetadata does "
                                  "not return it")
        return view

    def delete(self, current):
        for alias, type_name, suffix in reversed(self.components):
            if self.records.get(alias) is not None:
                self.client.metadata.delete(type_name, self.full_name_of(suffix))

    def result(self, obj):
        """The components by Metadata type, as read."""
        types = {alias: type_name for alias, type_name, _suffix in self.components}
        out = {}
        for key, value in obj.items():
            alias, dot, field = key.partition(".")
            if dot and alias in types:
                out.setdefault(types[alias], {})[field] = value
        return out
