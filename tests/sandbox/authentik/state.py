"""The sandbox's data: collections of objects, the seeded defaults, certificates and expressions."""
from __future__ import annotations

import copy
import datetime
import hashlib
import threading
import types
import uuid
from binascii import hexlify
from textwrap import indent

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

# Stable ids for seeded objects, so that a restart or a reset gives the same pks.
_NS = uuid.UUID("5a4d0b5e-7c1e-4b8e-9a57-a17e0b5a0d01")


def seed_uuid(name):
    return str(uuid.uuid5(_NS, name))


def now_iso():
    return iso(datetime.datetime.now(datetime.timezone.utc))


def iso(value):
    """DRF's datetime rendering: ISO 8601 with a Z for UTC."""
    text = value.astimezone(datetime.timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- certificates -------------------------------------------------------------------------------

def generate_keypair(common_name, subject_alt_names=(), validity_days=365, alg="rsa"):
    """A self-signed certificate as authentik's CertificateBuilder makes it; returns (cert PEM, key PEM)."""
    if alg == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif alg == "ed448":
        key = ed448.Ed448PrivateKey.generate()
    else:
        # authentik uses 4096 bits; 2048 keeps the sandbox fast and changes nothing a client can see
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "authentik"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Self-signed"),
    ])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=validity_days + 1))
    )
    sans = [x509.DNSName(s.strip()) for s in subject_alt_names if s.strip()]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    algorithm = None if alg in ("ed25519", "ed448") else hashes.SHA256()
    cert = builder.sign(key, algorithm)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


def load_certificate(pem):
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, TypeError):
        return None


def load_private_key(pem):
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return None


def _key_type(key):
    for cls, name in ((rsa.RSAPublicKey, "rsa"), (ec.EllipticCurvePublicKey, "ec"), (dsa.DSAPublicKey, "dsa"),
                      (ed25519.Ed25519PublicKey, "ed25519"), (ed448.Ed448PublicKey, "ed448")):
        if isinstance(key, cls):
            return name
    return None


def certificate_details(cert_pem):
    """The read-only fields authentik computes from a certificate."""
    cert = load_certificate(cert_pem)
    return {
        "fingerprint_sha256": hexlify(cert.fingerprint(hashes.SHA256()), ":").decode(),
        "fingerprint_sha1": hexlify(cert.fingerprint(hashes.SHA1()), ":").decode(),  # noqa: S303 - what authentik shows
        "cert_expiry": iso(cert.not_valid_after_utc),
        "cert_subject": cert.subject.rfc4514_string(),
        "key_type": _key_type(cert.public_key()),
    }


def certificate_base64(cert_pem):
    """The base64 body of a PEM certificate, as it appears in SAML metadata."""
    lines = [line for line in cert_pem.strip().splitlines() if not line.startswith("-----")]
    return "".join(lines)


# --- expressions --------------------------------------------------------------------------------

EXPRESSION_ARGS = ("request", "user", "group", "provider", "ak_logger", "ak_is_group_member")


def compile_expression(expression):
    """Compile an expression the way authentik does: as the body of a function, so `return` works.

    Raises SyntaxError or ValueError."""
    body = indent(expression, "    ") or "    pass"
    source = "def __sandbox_handler__(%s):\n%s\n" % (", ".join(EXPRESSION_ARGS), body)
    return compile(source, "<expression>", "exec")


def evaluate_expression(expression, context):
    """Run an expression with the given context (names of EXPRESSION_ARGS); generators become lists."""
    namespace = {}
    exec(compile_expression(expression), namespace)  # noqa: S102 - a local test sandbox evaluating test data
    args = [context.get(name) for name in EXPRESSION_ARGS]
    result = namespace["__sandbox_handler__"](*args)
    if isinstance(result, types.GeneratorType):
        result = list(result)
    return result


class _GroupSet(list):
    """Enough of a Django related manager for expressions: ``user.groups.all()``, iteration."""

    def all(self):
        return list(self)

    def filter(self, **kwargs):
        return [g for g in self if all(getattr(g, k, None) == v for k, v in kwargs.items())]


def expression_context(st, user_pk, provider=None):
    """The `request`, `user` and helpers an expression sees, for the stored user ``user_pk``."""
    stored = st.get("users", user_pk)
    groups = _GroupSet(
        types.SimpleNamespace(name=g["name"], pk=g["pk"], attributes=g["attributes"], is_superuser=g["is_superuser"])
        for g in st.all("groups") if g["pk"] in stored["groups"]
    )
    user = types.SimpleNamespace(
        pk=stored["pk"], username=stored["username"], name=stored["name"], email=stored["email"],
        attributes=copy.deepcopy(stored["attributes"]), is_active=stored["is_active"], uid=user_uid(stored["pk"]),
        uuid=stored["uuid"], groups=groups, ak_groups=groups, avatar=stored.get("avatar", ""),
        is_superuser=any(g.is_superuser for g in groups), path=stored["path"], type=stored["type"],
    )
    user.all_groups = lambda: list(groups)
    user.locale = lambda: stored["attributes"].get("settings", {}).get("locale", "")
    request = types.SimpleNamespace(user=user, http_request=None, context={}, obj=provider)
    logger = types.SimpleNamespace(info=_noop, debug=_noop, warning=_noop, error=_noop)

    def ak_is_group_member(member, **filters):
        return any(all(getattr(g, k, None) == v for k, v in filters.items()) for g in member.groups)

    return {"request": request, "user": user, "provider": provider, "ak_logger": logger,
            "ak_is_group_member": ak_is_group_member}


def _noop(*_args, **_kwargs):
    return None


def user_uid(pk):
    """authentik's User.uid: a hash of the pk and the install id."""
    return hashlib.sha256(("%s-sandbox-install-id" % pk).encode()).hexdigest()


# --- seeded defaults ----------------------------------------------------------------------------

SAML_MAPPINGS = [
    # managed id suffix, name suffix, saml_name, expression
    ("upn", "UPN", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
     "return user.attributes.get('upn', user.email)"),
    ("name", "Name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "return request.user.name"),
    ("email", "Email", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
     "return request.user.email"),
    ("username", "Username", "http://schemas.goauthentik.io/2021/02/saml/username", "return request.user.username"),
    ("uid", "User ID", "http://schemas.goauthentik.io/2021/02/saml/uid", "return request.user.pk"),
    ("groups", "Groups", "http://schemas.xmlsoap.org/claims/Group",
     "for group in request.user.all_groups():\n    yield group.name"),
    ("ms-windowsaccountname", "WindowsAccountname (Username)",
     "http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname", "return request.user.username"),
]

SCIM_USER_EXPRESSION = '''# Some implementations require givenName and familyName to be set
givenName, familyName = request.user.name, " "
formatted = request.user.name + " "
# This default sets givenName to the name before the first space
# and the remainder as family name
# if the user's name has no space the givenName is the entire name
if " " in request.user.name:
    givenName, _, familyName = request.user.name.partition(" ")
    formatted = request.user.name

locale = request.user.locale()
if locale == "":
    locale = None

emails = []
if request.user.email != "":
    emails = [{
        "value": request.user.email,
        "type": "other",
        "primary": True,
    }]
return {
    "userName": request.user.username,
    "name": {
        "formatted": formatted,
        "givenName": givenName,
        "familyName": familyName,
    },
    "displayName": request.user.name,
    "locale": locale,
    "active": request.user.is_active,
    "emails": emails,
}'''

SCIM_GROUP_EXPRESSION = 'return {\n    "displayName": group.name,\n}'

FLOWS = [
    # slug, designation, name, title, authentication
    ("default-authentication-flow", "authentication", "Welcome to authentik!", "Welcome to authentik!", "none"),
    ("default-invalidation-flow", "invalidation", "Default - Invalidation flow", "Default - Invalidation flow",
     "none"),
    ("default-provider-authorization-explicit-consent", "authorization", "Authorize Application",
     "Redirecting to %(app)s", "require_authenticated"),
    ("default-provider-authorization-implicit-consent", "authorization", "Authorize Application",
     "Redirecting to %(app)s", "require_authenticated"),
    ("default-provider-invalidation-flow", "invalidation", "Logged out of application",
     "You've logged out of %(app)s.", "none"),
    ("default-source-authentication", "authentication", "Welcome to authentik!", "Welcome to authentik!",
     "require_unauthenticated"),
    ("default-source-enrollment", "enrollment", "Welcome to authentik! Please select a username.",
     "Welcome to authentik! Please select a username.", "require_unauthenticated"),
    ("default-source-pre-authentication", "stage_configuration", "Pre-Authentication", "Pre-authentication",
     "none"),
    ("default-user-settings-flow", "stage_configuration", "User settings", "Update your info",
     "require_authenticated"),
    ("default-password-change", "stage_configuration", "Change Password", "Change password",
     "require_authenticated"),
    ("default-authenticator-static-setup", "stage_configuration", "default-authenticator-static-setup",
     "Setup Static OTP Tokens", "require_authenticated"),
    ("default-authenticator-totp-setup", "stage_configuration", "default-authenticator-totp-setup",
     "Setup Two-Factor authentication", "require_authenticated"),
    ("default-authenticator-webauthn-setup", "stage_configuration", "default-authenticator-webauthn-setup",
     "Setup WebAuthn", "require_authenticated"),
    ("initial-setup", "stage_configuration", "default-oobe-setup", "Welcome to authentik!", "require_superuser"),
]

SELF_SIGNED_NAME = "authentik Self-signed Certificate"
_SELF_SIGNED = {}


def _self_signed():
    # generated once per process: a reset gives back the same certificate (and fingerprint)
    if not _SELF_SIGNED:
        cert, key = generate_keypair(SELF_SIGNED_NAME, ["%s.self-signed.goauthentik.io" % uuid.uuid4().hex[:12]])
        _SELF_SIGNED.update(cert=cert, key=key)
    return _SELF_SIGNED


class State:
    """All objects, by collection, keyed by pk (insertion order kept)."""

    COLLECTIONS = ("users", "groups", "flows", "property_mappings", "providers", "applications",
                   "policies", "policy_bindings", "sources", "certificates")

    def __init__(self):
        self.lock = threading.Lock()
        self.seed()

    def seed(self):
        self.data = {name: {} for name in self.COLLECTIONS}
        self.next_provider_id = 1
        self.next_user_id = 1
        self.next_group_num = 1
        self.sync_count = {}
        self.app_list_cache = {}
        joined = "2025-01-01T00:00:00Z"
        admins = self.add("groups", {
            "pk": seed_uuid("group:authentik Admins"), "num_pk": self.new_group_num(), "name": "authentik Admins",
            "is_superuser": True, "parents": [], "attributes": {}, "roles": [],
        })
        for username, name, email, groups in (("akadmin", "authentik Default Admin", "root@localhost", [admins["pk"]]),
                                              ("jdoe", "Jane Doe", "jane.doe@example.com", [])):
            self.add("users", {
                "pk": self.new_user_id(), "username": username, "name": name, "email": email, "is_active": True,
                "last_login": None, "date_joined": joined, "groups": groups, "roles": [], "attributes": {},
                "path": "users", "type": "internal", "uuid": seed_uuid("user:" + username),
                "password_change_date": joined, "last_updated": joined,
            })
        for slug, designation, name, title, authentication in FLOWS:
            self.add("flows", {
                "pk": seed_uuid("flow:" + slug), "slug": slug, "designation": designation, "name": name,
                "title": title, "authentication": authentication, "background": "", "policy_engine_mode": "any",
                "compatibility_mode": False, "layout": "stacked", "denied_action": "message_continue",
            })
        for suffix, label, saml_name, expression in SAML_MAPPINGS:
            managed = "goauthentik.io/providers/saml/" + suffix
            self.add("property_mappings", {
                "_kind": "saml", "pk": seed_uuid(managed), "managed": managed,
                "name": "authentik default SAML Mapping: " + label, "expression": expression,
                "saml_name": saml_name, "friendly_name": None,
            })
        for suffix, label, expression in (("user", "User", SCIM_USER_EXPRESSION),
                                          ("group", "Group", SCIM_GROUP_EXPRESSION)):
            managed = "goauthentik.io/providers/scim/" + suffix
            self.add("property_mappings", {
                "_kind": "scim", "pk": seed_uuid(managed), "managed": managed,
                "name": "authentik default SCIM Mapping: " + label, "expression": expression,
            })
        self.add("policies", {
            "_kind": "expression", "pk": seed_uuid("policy:sandbox-allow-all"), "name": "sandbox-allow-all",
            "execution_logging": False, "expression": "return True",
        })
        kp = _self_signed()
        self.add("certificates", {
            "pk": seed_uuid("certificate:self-signed"), "name": SELF_SIGNED_NAME, "certificate_data": kp["cert"],
            "key_data": kp["key"], "managed": None,
        })

    # --- access helpers ---
    def add(self, collection, obj):
        self.data[collection][obj["pk"]] = obj
        return obj

    def get(self, collection, pk):
        return self.data[collection].get(pk)

    def all(self, collection, kind=None):
        return [o for o in self.data[collection].values() if kind is None or o.get("_kind") == kind]

    def delete(self, collection, pk):
        self.data[collection].pop(pk, None)

    def new_provider_id(self):
        self.next_provider_id += 1
        return self.next_provider_id - 1

    def new_user_id(self):
        self.next_user_id += 1
        return self.next_user_id - 1

    def new_group_num(self):
        self.next_group_num += 1
        return self.next_group_num - 1

    def dump(self):
        return {name: [copy.deepcopy(o) for o in objs.values()] for name, objs in self.data.items()}
