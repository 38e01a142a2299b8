"""Certificate key pairs."""
from __future__ import annotations

import uuid

import contract
import state as st_mod

from .base import CERT_DETAILS_STORED, Raw, Resource, bad_request


class Certificates(Resource):
    prefix = "crypto_certificatekeypairs"
    collection = "certificates"
    model = "CertificateKeyPair"
    ordering = ("name",)
    unique = {"name": (None, "certificate-key pair with this name already exists.")}

    def ops(self):
        return super().ops() + [
            ("crypto_certificatekeypairs_generate_create", self.op_generate),
            ("crypto_certificatekeypairs_view_certificate_retrieve", self.op_view_certificate),
            ("crypto_certificatekeypairs_view_private_key_retrieve", self.op_view_private_key),
        ]

    def defaults(self, ctx):
        return {"key_data": "", "managed": None}

    def validate_fields(self, ctx, data, obj, errors):
        if "certificate_data" in data and st_mod.load_certificate(data["certificate_data"]) is None:
            errors.setdefault("certificate_data", []).append("Unable to load certificate.")
        if data.get("key_data") and st_mod.load_private_key(data["key_data"]) is None:
            errors.setdefault("key_data", []).append("Unable to load private key (possibly encrypted?).")

    def serialize(self, ctx, obj):
        details = st_mod.certificate_details(obj["certificate_data"])
        data = {"pk": obj["pk"], "name": obj["name"]}
        hide = not ctx.since(CERT_DETAILS_STORED) and not ctx.flag("include_details", True)
        for field in ("fingerprint_sha256", "fingerprint_sha1", "cert_expiry", "cert_subject"):
            data[field] = None if hide else details[field]
        data["private_key_available"] = bool(obj["key_data"])
        data["key_type"] = details["key_type"]
        url = "/api/v3/crypto/certificatekeypairs/%s/" % obj["pk"]
        data["certificate_download_url"] = url + "view_certificate/?download"
        data["private_key_download_url"] = url + "view_private_key/?download"
        data["managed"] = obj["managed"]
        return data

    def filter(self, ctx, name, values, rows):
        if name == "has_key":
            return [r for r in rows if r[1]["private_key_available"] == values[0]] if values[0] else rows
        if name == "include_details":
            return rows
        return None

    def on_delete(self, ctx, obj):
        for provider in ctx.st.all("providers", "saml"):
            for field in ("signing_kp", "verification_kp", "encryption_kp"):
                if provider[field] == obj["pk"]:
                    provider[field] = None

    def op_generate(self, ctx, params, body):
        try:
            data = contract.check_body(ctx.op.body_model, body, ctx.version, ctx.server.drop_unknown_fields)
        except contract.ContractError as exc:
            raise bad_request(exc.errors) from None
        if any(kp["name"] == data["common_name"] for kp in ctx.st.all("certificates")):
            raise bad_request({"common_name": ["certificate-key pair with this name already exists."]})
        sans = data.get("subject_alt_name", "")
        cert, key = st_mod.generate_keypair(data["common_name"], sans.split(",") if sans else [],
                                            data["validity_days"], data.get("alg") or "rsa")
        obj = ctx.st.add("certificates", {"pk": str(uuid.uuid4()), "name": data["common_name"],
                                          "certificate_data": cert, "key_data": key, "managed": None})
        return 200, self.serialize(ctx, obj)

    def _view(self, ctx, params, field, suffix):
        obj = self.find(ctx, params[0])
        if "download" in ctx.query:
            return 200, Raw(obj[field], "application/x-pem-file", {
                "Content-Disposition": 'attachment; filename="%s_%s.pem"' % (obj["name"], suffix)})
        return 200, {"data": obj[field]}

    def op_view_certificate(self, ctx, params, body):
        return self._view(ctx, params, "certificate_data", "certificate")

    def op_view_private_key(self, ctx, params, body):
        return self._view(ctx, params, "key_data", "private_key")
