"""SAML providers: flows, signing, URLs, metadata and the user preview."""
from __future__ import annotations

import re
import types
from urllib.parse import urlsplit

import state as st_mod

from .base import ISSUER_OVERRIDE, METADATA_NEEDS_APP, Raw, Resource, SAML_SIGNING_KEY_TYPES, bad_request, not_found
from .providers import PROVIDER_UNIQUE, assigned_app, backchannel_app, provider_base

SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
SAML_SIGNING_MESSAGE = ("With a signing keypair selected, at least one of 'Sign assertion' and 'Sign Response' "
                        "must be selected.")


def valid_http_url(value):
    """Django's (domainless) URL validator for http and https, roughly."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", value)


class SAMLProviders(Resource):
    prefix = "providers_saml"
    collection = "providers"
    kind = "saml"
    model = "SAMLProvider"
    lookup_type = "int"
    ordering = ("pk",)
    unique = PROVIDER_UNIQUE

    def ops(self):
        return super().ops() + [("providers_saml_metadata_retrieve", self.op_metadata),
                                ("providers_saml_preview_user_retrieve", self.op_preview_user)]

    def new_pk(self, ctx):
        return ctx.st.new_provider_id()

    def defaults(self, ctx):
        data = {
            "authentication_flow": None, "property_mappings": [], "sls_url": "", "audience": "",
            "assertion_valid_not_before": "minutes=-5", "assertion_valid_not_on_or_after": "minutes=5",
            "session_valid_not_on_or_after": "minutes=86400", "name_id_mapping": None,
            "authn_context_class_ref_mapping": None, "digest_algorithm": SHA256, "signature_algorithm": RSA_SHA256,
            "signing_kp": None, "verification_kp": None, "encryption_kp": None, "sign_assertion": True,
            "sign_response": False, "sign_logout_request": False, "sp_binding": "redirect", "sls_binding": "redirect",
            "logout_method": "frontchannel_iframe", "default_relay_state": "",
            "default_name_id_policy": NAMEID_UNSPECIFIED,
        }
        if ctx.since(ISSUER_OVERRIDE):
            data.update(issuer_override="", sign_logout_response=False)
        else:
            data["issuer"] = "authentik"
        return data

    def validate_fields(self, ctx, data, obj, errors):
        for field in ("authentication_flow", "authorization_flow", "invalidation_flow"):
            self.check_refs(ctx, data, errors, field, "flows")
        self.check_refs(ctx, data, errors, "property_mappings", "property_mappings")
        for field in ("name_id_mapping", "authn_context_class_ref_mapping"):
            self.check_refs(ctx, data, errors, field, "property_mappings", kind="saml")
        # signing needs a keypair with a private key (the real queryset excludes the others)
        self.check_refs(ctx, data, errors, "signing_kp", "certificates", accept=lambda kp: bool(kp["key_data"]))
        self.check_refs(ctx, data, errors, "verification_kp", "certificates")
        self.check_refs(ctx, data, errors, "encryption_kp", "certificates")
        if ctx.since(SAML_SIGNING_KEY_TYPES) and data.get("signing_kp") and "signing_kp" not in errors:
            kp = ctx.st.get("certificates", data["signing_kp"])
            if st_mod.certificate_details(kp["certificate_data"])["key_type"] not in ("rsa", "ec", "dsa"):
                errors["signing_kp"] = ["Only RSA, EC, and DSA key types are supported for SAML signing."]
        for field in ("acs_url", "sls_url"):
            if data.get(field) and not valid_http_url(data[field]):
                errors.setdefault(field, []).append("Enter a valid URL.")

    def validate(self, ctx, data, obj):
        # the real check reads only the submitted body, not the stored values or the defaults
        if data.get("signing_kp") and not data.get("sign_assertion") and not data.get("sign_response"):
            raise bad_request({"non_field_errors": [SAML_SIGNING_MESSAGE]})

    def urls(self, ctx, obj):
        app = assigned_app(ctx.st, obj["pk"])
        if app is None:
            return None
        return "%s/application/saml/%s/" % (ctx.base_url, app["slug"])

    def issuer(self, ctx, obj):
        """The EntityID the provider uses."""
        if not ctx.since(ISSUER_OVERRIDE):
            return obj["issuer"]
        if obj["issuer_override"]:
            return obj["issuer_override"]
        base = self.urls(ctx, obj)
        return base + "metadata/" if base else "authentik"

    def serialize(self, ctx, obj):
        data = provider_base(ctx.st, obj)
        for field in ("acs_url", "sls_url", "audience"):
            data[field] = obj[field]
        issuer_field = "issuer_override" if ctx.since(ISSUER_OVERRIDE) else "issuer"
        data[issuer_field] = obj[issuer_field]
        for field in ("assertion_valid_not_before", "assertion_valid_not_on_or_after",
                      "session_valid_not_on_or_after", "name_id_mapping", "authn_context_class_ref_mapping",
                      "digest_algorithm", "signature_algorithm", "signing_kp", "verification_kp", "encryption_kp",
                      "sign_assertion", "sign_response", "sign_logout_request"):
            data[field] = obj[field]
        if ctx.since(ISSUER_OVERRIDE):
            data["sign_logout_response"] = obj["sign_logout_response"]
        for field in ("sp_binding", "sls_binding", "logout_method", "default_relay_state", "default_name_id_policy"):
            data[field] = obj[field]
        base = self.urls(ctx, obj)
        if base:
            data["url_download_metadata"] = base + "metadata/"
        else:
            data["url_download_metadata"] = "%s/api/v3/providers/saml/%s/metadata/?download" % (ctx.base_url, obj["pk"])
        if ctx.since(ISSUER_OVERRIDE):
            data["url_issuer"] = self.issuer(ctx, obj)
            data["url_unified"] = base if base else "-"
            data["url_unified_init"] = base + "init/" if base else "-"
        for field, suffix in (("url_sso_post", "sso/binding/post/"), ("url_sso_redirect", "sso/binding/redirect/"),
                              ("url_sso_init", "sso/binding/init/"), ("url_slo_post", "slo/binding/post/"),
                              ("url_slo_redirect", "slo/binding/redirect/")):
            data[field] = base + suffix if base else "-"
        return data

    def filter(self, ctx, name, values, rows):
        if name == "is_backchannel":
            return [r for r in rows if values[0] is False]
        if name == "backchannel_application":
            return [r for r in rows if (backchannel_app(ctx.st, r[0]["pk"]) or {}).get("pk") in values]
        return None

    def on_delete(self, ctx, obj):
        for app in ctx.st.all("applications"):
            if app["provider"] == obj["pk"]:
                app["provider"] = None

    def metadata_xml(self, ctx, obj):
        base = self.urls(ctx, obj)
        key_descriptors = ""
        for use, field in (("signing", "signing_kp"), ("encryption", "encryption_kp")):
            kp = ctx.st.get("certificates", obj[field]) if obj[field] else None
            if kp:
                key_descriptors += (
                    '    <md:KeyDescriptor use="%s"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
                    '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n'
                    % (use, st_mod.certificate_base64(kp["certificate_data"])))
        formats = "".join("    <md:NameIDFormat>%s</md:NameIDFormat>\n" % f for f in (
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:WindowsDomainQualifiedName",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
        bindings = "urn:oasis:names:tc:SAML:2.0:bindings:"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">\n'
            '  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">\n'
            '%s'
            '    <md:SingleLogoutService Binding="%sHTTP-Redirect" Location="%sslo/binding/redirect/"/>\n'
            '    <md:SingleLogoutService Binding="%sHTTP-POST" Location="%sslo/binding/post/"/>\n'
            '%s'
            '    <md:SingleSignOnService Binding="%sHTTP-Redirect" Location="%ssso/binding/redirect/"/>\n'
            '    <md:SingleSignOnService Binding="%sHTTP-POST" Location="%ssso/binding/post/"/>\n'
            '  </md:IDPSSODescriptor>\n'
            '</md:EntityDescriptor>\n'
        ) % (_xml_attr(self.issuer(ctx, obj)), key_descriptors, bindings, base, bindings, base, formats,
             bindings, base, bindings, base)

    def op_metadata(self, ctx, params, body):
        obj = self.find(ctx, params[0])
        base = self.urls(ctx, obj)
        if base is None:
            if ctx.since(METADATA_NEEDS_APP):
                raise not_found()
            # 2025.12: 200 with empty metadata, with or without ?download
            return 200, {"metadata": ""}
        xml = self.metadata_xml(ctx, obj)
        if "download" in ctx.query:  # presence is enough, whatever the value
            return 200, Raw(xml, "application/xml", {
                "Content-Disposition": 'attachment; filename="%s_authentik_meta.xml"' % obj["name"]})
        return 200, {"metadata": xml}  # the client's model has download_url; real servers do not send it

    def op_preview_user(self, ctx, params, body):
        obj = self.find(ctx, params[0])
        user_pk = ctx.server.user_pk
        if "for_user" in ctx.query:
            raw = ctx.query["for_user"][-1]
            try:
                wanted = int(raw)
            except ValueError:
                raise bad_request({"for_user": "for_user must be numerical"}) from None
            # like the real server: an unknown user silently falls back to the caller
            if ctx.st.get("users", wanted):
                user_pk = wanted
        return 200, {"preview": self.preview(ctx, obj, user_pk)}

    def preview(self, ctx, obj, user_pk):
        """The NameID and attributes an assertion for this user would carry."""
        provider = types.SimpleNamespace(name=obj["name"], pk=obj["pk"])
        context = st_mod.expression_context(ctx.st, user_pk, provider)
        attributes = []
        for pk in obj["property_mappings"]:
            mapping = ctx.st.get("property_mappings", pk)
            if mapping is None or mapping["_kind"] != "saml":
                continue
            try:
                value = st_mod.evaluate_expression(mapping["expression"], context)
            except Exception as exc:  # noqa: BLE001 - the real server logs the error and skips the attribute
                ctx.server.log_error("mapping %r failed: %r" % (mapping["name"], exc))
                continue
            if value is None:
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            item = {"Value": [v if isinstance(v, str) else str(v) for v in values]}
            if mapping["friendly_name"]:
                item["FriendlyName"] = mapping["friendly_name"]
            item["Name"] = mapping["saml_name"]
            attributes.append(item)
        attributes.sort(key=lambda a: a["Name"])
        name_id = st_mod.user_uid(user_pk)
        user = ctx.st.get("users", user_pk)
        if obj["name_id_mapping"]:
            mapping = ctx.st.get("property_mappings", obj["name_id_mapping"])
            try:
                value = st_mod.evaluate_expression(mapping["expression"], context)
                if value is not None:
                    name_id = str(value)
            except Exception as exc:  # noqa: BLE001 - as above
                ctx.server.log_error("NameID mapping failed: %r" % exc)
        elif obj["default_name_id_policy"].endswith(":emailAddress"):
            name_id = user["email"]
        return {"attributes": attributes, "nameID": name_id}


def _xml_attr(value):
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
