# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an authentik SAML provider serves as an identity provider: its URLs, issuer, signing certificate and the
assertion it would send for a user. Read by saml_provider_info and salesforce_sso_check."""

from __future__ import annotations

from ansible_collections.sso.authentik.plugins.module_utils import _crypto as crypto
from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikError
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Ref, path_segment

PATH = "/providers/saml/"
USERS = Ref("/core/users/", "user", by="username")
MAPPINGS = "/propertymappings/provider/saml/"


def preview(client, provider, username):
    """What the provider would send for this user, from authentik's own preview."""
    user = client.resolve(USERS, username)
    if user is None:
        raise EngineError("user %r (option preview_user) does not exist." % username)
    path = "%s%s/preview_user/" % (PATH, path_segment(provider.get("pk"), "SAML provider id"))
    data = client.get_object(path, params={"for_user": user}, keys=("preview",))["preview"]
    data = client.expect_object(data, "GET /api/v3%s: preview" % path)
    attributes = {}
    for attribute in data.get("attributes") or []:
        if not isinstance(attribute, dict):
            raise AuthentikError("GET /api/v3%s: an attribute of the preview is not an object." % path)
        values = attribute.get("Value", attribute.get("value"))
        if isinstance(values, list) and len(values) == 1:
            values = values[0]
        attributes[attribute.get("Name", attribute.get("name"))] = values
    return {"name_id": data.get("nameID"), "attributes": attributes}


def find_provider(client, name):
    """The provider named `name`, or None."""
    return client.find(PATH, {"name": name}, "SAML provider")


def describe(client, provider, preview_user=None, metadata=True):
    """The IdP side of `provider` (as find_provider returned it): URLs, issuer, signing certificate, and with
    `metadata` the metadata XML; with `preview_user` the assertion for that user."""
    name = provider.get("name")
    application = provider.get("assigned_application_slug")
    if not application:
        raise EngineError("SAML provider %r is not used by any application yet; create the application first "
                          "(the SSO URLs and the metadata come from it)." % name)
    result = {
        "provider": provider,
        "application": application,
        "sso_url_post": provider.get("url_sso_post"),
        "sso_url_redirect": provider.get("url_sso_redirect"),
        "sso_url_init": provider.get("url_sso_init"),
        "slo_url_post": provider.get("url_slo_post"),
        # authentik 2026.5 and later compute the issuer (url_issuer); before, it is the stored `issuer`.
        "issuer": provider.get("url_issuer") or provider.get("issuer"),
        "signing_certificate": "",
        "signing_certificate_fingerprint": "",
    }
    if metadata:
        pk = path_segment(provider.get("pk"), "SAML provider id")
        answer = client.get_object("%s%s/metadata/" % (PATH, pk), not_found_ok=True) or {}
        if not answer.get("metadata") or not isinstance(answer["metadata"], str):
            raise EngineError("authentik returned no metadata for SAML provider %r." % name)
        result["metadata"] = answer["metadata"]
    if provider.get("signing_kp"):
        signing = path_segment(provider["signing_kp"], "signing certificate id")
        path = "/crypto/certificatekeypairs/%s/view_certificate/" % signing
        pem = client.get_object(path, keys=("data",))["data"]
        if not isinstance(pem, str):
            raise AuthentikError("GET /api/v3%s: 'data' is not a PEM text." % path)
        result["signing_certificate"] = pem
        result["signing_certificate_fingerprint"] = crypto.fingerprint(crypto.load_certificate(pem))
    if preview_user:
        result["preview"] = preview(client, provider, preview_user)
    return result


def mapping_expression(client, provider, saml_name):
    """The expression of the provider's property mapping for the SAML attribute `saml_name`, or None (one list
    request, filtered by the attribute name)."""
    used = set(provider.get("property_mappings") or [])
    rows = client.list(MAPPINGS, {"saml_name": saml_name})
    expressions = [row.get("expression") for row in rows if isinstance(row, dict) and row.get("pk") in used]
    return expressions[0] if len(expressions) == 1 and isinstance(expressions[0], str) else None
