"""Configuration, seeded org data and the mutable state of the Salesforce sandbox."""

import copy
import re
import threading
import time
from datetime import datetime, timedelta, timezone

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Everything a config file may set; the runtime switches can also be changed with POST /_sandbox/config.
DEFAULTS = {
    "org_id": "00D5g000004Ab1C",  # 15 or 18 characters
    "org_name": "Sandbox Org",
    "instance_name": "NA224",
    "organization_type": "Developer Edition",
    "username": "admin@example.com",  # the admin user (System Administrator)
    "second_username": None,  # default: integration.user@<domain of username> (Standard User)
    "client_id": None,  # the pre-installed app used for JWT bearer / client credentials
    "client_secret": None,
    "jwt_certificate": None,  # PEM of the certificate whose key signs JWT assertions for client_id
    "client_credentials_user": None,  # run-as user of the pre-installed app (default: username)
    "api_versions": ["60.0", "61.0", "62.0", "63.0", "64.0", "65.0"],
    # --- runtime switches ---
    "query_page_size": 2,  # records per SOQL page (real: 2000); small so that nextRecordsUrl paging is exercised
    "daily_api_limit": 15000,  # DailyApiRequests Max (Developer Edition)
    "consumer_secret_readable": False,  # org setting + user permission that let readMetadata return consumerSecret
    "jwt_audiences": ["https://login.salesforce.com"],  # accepted JWT `aud` besides the My Domain URL
    "jwt_max_lifetime": 300,  # seconds an assertion's exp may lie in the future (3 min + clock skew)
    "token_ttl": None,  # seconds until access tokens expire by themselves (None: only on demand)
    "request_signature_method_format": "name",  # readMetadata returns RSA-SHA256 ("name") or 1 ("number")
    "validation_cert_line_length": 0,  # readMetadata wraps validationCert at this width (0: one line)
    "eca_auto_oauth_policies": False,  # creating ExtlClntAppGlobalOauthSettings also creates <app>_oauthPlcy
}
SWITCHES = (
    "query_page_size", "daily_api_limit", "consumer_secret_readable", "jwt_audiences", "jwt_max_lifetime",
    "token_ttl", "request_signature_method_format", "validation_cert_line_length", "eca_auto_oauth_policies",
)


def to18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character Salesforce id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start:start + 5]) if "A" <= char <= "Z")
        suffix += ID_ALPHABET[bits]
    return id15 + suffix


def id15(value: str) -> str:
    """An id (15 or 18) reduced to its 15-character form; '' when it is not id-shaped."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?", value):
        if len(value) == 18 and to18(value[:15]).upper() != value.upper():
            return ""
        return value[:15]
    return ""


def same_id(a: str, b: str) -> bool:
    return bool(id15(a)) and id15(a) == id15(b)


def sf_datetime(moment: float) -> str:
    """REST API timestamp format: 2026-01-01T00:00:00.000+0000."""
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def load_config(raw: dict) -> dict:
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        raise ValueError("unknown configuration keys: %s" % ", ".join(sorted(unknown)))
    config = copy.deepcopy(DEFAULTS)
    config.update(raw)
    org = config["org_id"]
    if not id15(org) or not org.startswith("00D"):
        raise ValueError("org_id must be a 15 or 18 character organization id starting with 00D")
    config["org_id"] = org[:15]
    for version in config["api_versions"]:
        if not re.fullmatch(r"\d+\.0", version):
            raise ValueError("api_versions must look like 63.0")
    check_switches(config)
    return config


def check_switches(values: dict) -> None:
    if values.get("request_signature_method_format", "name") not in ("name", "number"):
        raise ValueError("request_signature_method_format is name or number")
    for key in ("query_page_size", "daily_api_limit", "jwt_max_lifetime", "validation_cert_line_length"):
        if key in values and (not isinstance(values[key], int) or values[key] < 0):
            raise ValueError("%s must be a non-negative integer" % key)
    if values.get("query_page_size", 1) < 1:
        raise ValueError("query_page_size must be at least 1")


def self_signed_certificate(common_name: str, not_after: datetime):
    """(PEM, base64 DER body) of a fresh self-signed RSA certificate, like the ones Setup creates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=365)).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class State:
    """All mutable data behind one lock (the server is threaded)."""

    def __init__(self, config: dict):
        self.config = config
        self.lock = threading.RLock()
        # Generated once per process, so that a reset keeps the same certificate.
        self.certificate_pem = self_signed_certificate(
            "SelfSignedCert_01Jan2026", datetime(2027, 1, 1, tzinfo=timezone.utc))
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.switches = {key: copy.deepcopy(self.config[key]) for key in SWITCHES}
            self.org15 = self.config["org_id"]
            self.org18 = to18(self.org15)
            self._counters = {}
            self.created = time.time()
            self.log = []
            self.seq = 0
            self.faults = []
            self.tokens = {}  # access token -> {"user_id", "client_id", "scope", "issued", "expires", "expired"}
            self.auth_codes = {}
            self.cursors = {}  # query locator -> remaining rows
            self.api_used = 0
            self.logins = 0
            self.settings_writes = []  # every write of a settings type: which blocks it carried
            self.scim_user_ids = []  # users created through SCIM
            self._seed()

    def new_id(self, prefix: str) -> str:
        """A new 18-character id: key prefix + this org's pod characters + a counter."""
        count = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = count
        digits = ""
        while count or len(digits) < 6:
            count, rest = divmod(count, 62)
            digits = BASE62[rest] + digits
        return to18(prefix + self.org15[3:5] + "0000" + digits[-6:])

    def _seed(self) -> None:
        stamp = sf_datetime(self.created - 86400 * 30)
        self.organization = {
            "Id": self.org18, "Name": self.config["org_name"], "InstanceName": self.config["instance_name"],
            "OrganizationType": self.config["organization_type"], "IsSandbox": False, "NamespacePrefix": None,
            "Division": None, "Country": "US", "LanguageLocaleKey": "en_US", "DefaultLocaleSidKey": "en_US",
            "TimeZoneSidKey": "America/Los_Angeles", "PrimaryContact": "Admin User", "TrialExpirationDate": None,
            "CreatedDate": stamp,
        }
        self.profiles = []
        for name, user_type in (
            ("System Administrator", "Standard"), ("Standard User", "Standard"),
            ("Standard Platform User", "Standard"), ("Read Only", "Standard"),
            ("Minimum Access - Salesforce", "Standard"), ("Identity User", "Standard"),
        ):
            self.profiles.append({
                "Id": self.new_id("00e"), "Name": name, "UserType": user_type, "Description": None,
                "UserLicenseId": None, "CreatedDate": stamp, "LastModifiedDate": stamp,
            })
        username = self.config["username"]
        second = self.config["second_username"] or "integration.user@" + username.partition("@")[2]
        self.users = []
        self.add_user(username, "Admin", "User", self.profiles[0]["Id"], stamp)
        self.add_user(second, "Integration", "User", self.profiles[1]["Id"], stamp)
        self.certificates = [{
            "Id": self.new_id("0P1"), "DeveloperName": "SelfSignedCert_01Jan2026",
            "MasterLabel": "SelfSignedCert_01Jan2026", "Language": "en_US", "NamespacePrefix": None,
            "ExpirationDate": "2027-01-01T00:00:00.000+0000", "KeySize": 2048,
            "OptionsIsPrivateKeyExportable": False, "CreatedDate": stamp, "Pem": self.certificate_pem,
        }]
        self.apex_classes = [{
            "Id": self.new_id("01p"), "Name": "AuthentikJitHandler", "NamespacePrefix": None,
            "ApiVersion": 63.0, "Status": "Active", "IsValid": True, "CreatedDate": stamp,
        }]
        # Metadata components: type -> fullName -> {"id", "created", "modified", "values"}
        self.metadata = {}
        self.put_metadata("SecuritySettings", "Security", {
            "fullName": "Security",
            "canUsersGrantLoginAccess": "true",
            "enableAdminLoginAsAnyUser": "false",
            "networkAccess": {"ipRanges": [
                {"description": "Office", "end": "203.0.113.255", "start": "203.0.113.0"}]},
            "passwordPolicies": {
                "complexity": "AlphaNumeric", "expiration": "NinetyDays", "historyRestriction": "3",
                "lockoutInterval": "FifteenMinutes", "maxLoginAttempts": "TenAttempts",
                "minimumPasswordLength": "8", "obscureSecretAnswer": "false",
            },
            "sessionSettings": {
                "forceRelogin": "true", "lockSessionsToDomain": "true", "lockSessionsToIp": "false",
                "requireHttpOnly": "false", "sessionTimeout": "TwoHours",
            },
            "singleSignOnSettings": {
                "enableCaseInsensitiveFederationID": "false", "enableForceDelegatedCallout": "false",
                "enableMultipleSamlConfigs": "true", "enableSamlJitProvisioning": "false",
                "enableSamlLogin": "false", "isLoginWithSalesforceCredentialsDisabled": "false",
            },
        })
        self.put_metadata("ExternalClientAppSettings", "ExternalClientApp", {
            "fullName": "ExternalClientApp", "enableClientSecretInRestApiAccess": "false",
            "enableConsumerSecretApiAccess": "false", "enablePackageEcaOauthFromDevOrg": "false",
        })

    def add_user(self, username, first, last, profile_id, stamp=None, **extra) -> dict:
        stamp = stamp or sf_datetime(time.time())
        user = {
            "Id": self.new_id("005"), "Username": username, "Name": ("%s %s" % (first, last)).strip(),
            "FirstName": first, "LastName": last, "Email": username, "Alias": (first[:1] + last)[:8].lower(),
            "CommunityNickname": username.partition("@")[0], "IsActive": True, "ProfileId": profile_id,
            "FederationIdentifier": None, "UserType": "Standard", "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8",
            "CreatedDate": stamp, "LastModifiedDate": stamp,
        }
        user.update(extra)
        self.users.append(user)
        return user

    def put_metadata(self, type_name: str, full_name: str, values: dict, id_prefix: str = "0ZZ") -> dict:
        now = time.time()
        records = self.metadata.setdefault(type_name, {})
        record = records.get(full_name)
        if record is None:
            record = records[full_name] = {"id": self.new_id(id_prefix), "created": now}
        record["modified"] = now
        record["values"] = values
        return record

    # --- lookups ----------------------------------------------------------------------------------------------

    def user_by_id(self, value):
        return next((u for u in self.users if same_id(u["Id"], value)), None)

    def user_by_username(self, username):
        return next((u for u in self.users if u["Username"].lower() == (username or "").lower()), None)

    def profile(self, name_or_id):
        return next((p for p in self.profiles if p["Name"] == name_or_id or same_id(p["Id"], name_or_id)), None)

    def my_domain_user(self):
        return self.user_by_username(self.config["username"])
