"""OAuth 2.0 of the sandbox org: JWT bearer, client credentials, authorization code (+PKCE), tokens, OIDC.

Apps that can log in: the pre-installed app of the configuration (client_id / client_secret / jwt_certificate),
and every External Client App created through the Metadata API (consumer key and secret of its
ExtlClntAppGlobalOauthSettings; JWT with its `certificate`; client credentials when enabled in both the global
settings and the OAuth policies, with a run-as user). Errors are `{"error", "error_description"}` as in reference
section 5.4.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from store import same_id

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
CLOCK_SKEW = 180  # Salesforce allows three minutes of clock skew on `exp`
# Metadata scope names -> the names OAuth responses use.
SCOPE_NAMES = {"Basic": "id", "Api": "api", "Web": "web", "Full": "full", "Chatter": "chatter_api",
               "CustomApplications": "visualforce", "RefreshToken": "refresh_token", "OpenID": "openid",
               "Profile": "profile", "Email": "email", "Address": "address", "Phone": "phone",
               "OfflineAccess": "offline_access", "CustomPermissions": "custom_permissions"}
NOT_FOR_CLIENT_CREDENTIALS = {"full", "web", "offline_access", "refresh_token"}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class App:
    def __init__(self, client_id, client_secret=None, certificate=None, scopes=("api",), callbacks=(),
                 cc_enabled=False, cc_user=None, approves=None, pkce_required=False, secret_optional=False):
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate = certificate
        self.scopes = list(scopes)
        self.callbacks = list(callbacks)
        self.cc_enabled = cc_enabled
        self.cc_user = cc_user
        self.approves = approves or (lambda user: True)  # is the user pre-authorized (JWT bearer)?
        self.pkce_required = pkce_required
        self.secret_optional = secret_optional


class OAuth:
    def __init__(self, state):
        self.state = state
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # signs id tokens
        self.kid = secrets.token_hex(4)

    # --- apps -------------------------------------------------------------------------------------------------

    def apps(self):
        config = self.state.config
        if config.get("client_id"):
            yield App(config["client_id"], config.get("client_secret"), config.get("jwt_certificate"),
                      cc_enabled=bool(config.get("client_secret")),
                      cc_user=config.get("client_credentials_user") or config["username"])
        metadata = self.state.metadata
        for record in metadata.get("ExtlClntAppGlobalOauthSettings", {}).values():
            glob = record["values"]
            app = glob["externalClientApplication"]
            settings = component(metadata, "ExtlClntAppOauthSettings", app) or {}
            policies = component(metadata, "ExtlClntAppOauthConfigurablePolicies", app) or {}
            scopes = [SCOPE_NAMES.get(s.strip(), s.strip().lower())
                      for s in (settings.get("commaSeparatedOauthScopes") or "").split(",") if s.strip()]
            callbacks = [c.strip() for c in (glob.get("callbackUrl") or "").replace("\n", ",").split(",")]
            yield App(
                glob["consumerKey"], glob["consumerSecret"], glob.get("certificate"), scopes, callbacks,
                cc_enabled=glob.get("isClientCredentialsFlowEnabled") == "true"
                and policies.get("isClientCredentialsFlowEnabled") == "true",
                cc_user=policies.get("clientCredentialsFlowUser"),
                approves=self.policy_approves(policies),
                pkce_required=glob.get("isPkceRequired", "true") == "true",
                secret_optional=glob.get("isConsumerSecretOptional") == "true",
            )

    def policy_approves(self, policies):
        """Admin-approved apps pre-authorize users by profile; self-authorized ones need a prior approval."""
        def approves(user):
            if policies.get("permittedUsersPolicyType") != "AdminApprovedPreAuthorized":
                return False
            profiles = [p.strip() for p in (policies.get("commaSeparatedProfile") or "").split(",") if p.strip()]
            profile = next((p for p in self.state.profiles if same_id(p["Id"], user["ProfileId"])), None)
            return bool(profile) and any(p == profile["Name"] or same_id(p, profile["Id"]) for p in profiles)
        return approves

    def app(self, client_id):
        return next((a for a in self.apps() if client_id and hmac.compare_digest(a.client_id, client_id)), None)

    # --- token endpoint ---------------------------------------------------------------------------------------

    def token(self, form: dict, authorization: str, my_domain: str, login_host: bool) -> dict:
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            app, user = self.jwt_bearer(form.get("assertion", ""), my_domain, login_host)
            return self.issue(app, user, my_domain, [s for s in app.scopes if s != "refresh_token"])
        if grant == "client_credentials":
            return self.client_credentials(form, authorization, my_domain, login_host)
        if grant == "authorization_code":
            return self.authorization_code(form, authorization, my_domain)
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def jwt_bearer(self, assertion: str, my_domain: str, login_host: bool):
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError:
            raise OAuthError("invalid_grant", "invalid assertion")
        if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
            raise OAuthError("invalid_grant", "invalid assertion")
        app = self.app(claims.get("iss"))
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        try:
            certificate = x509.load_pem_x509_certificate((app.certificate or "").encode())
            certificate.public_key().verify(signature, ("%s.%s" % (header_b64, claims_b64)).encode(),
                                            padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature, TypeError, AttributeError):
            raise OAuthError("invalid_grant", "invalid assertion")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        allowed = {my_domain.rstrip("/")} | {a.rstrip("/") for a in self.state.switches["jwt_audiences"]}
        if login_host:
            allowed = {a.rstrip("/") for a in self.state.switches["jwt_audiences"]}
        if not any(isinstance(a, str) and a.rstrip("/") in allowed for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise OAuthError("invalid_grant", "invalid assertion")
        if exp + CLOCK_SKEW < now:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        if exp > now + self.state.switches["jwt_max_lifetime"]:
            raise OAuthError("invalid_grant", "invalid assertion")  # exp must lie at most ~3 minutes ahead
        user = self.state.user_by_username(claims.get("sub"))
        if user is None or not user["IsActive"]:
            raise OAuthError("invalid_grant", "authentication failure")
        if not app.approves(user):
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return app, user

    def client_auth(self, form, authorization):
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization.lower().startswith("basic "):
            try:
                client_id, _colon, secret = base64.b64decode(authorization[6:]).decode().partition(":")
                client_id, secret = urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
            except ValueError:
                raise OAuthError("invalid_client", "invalid client credentials", 401)
        app = self.app(client_id)
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        return app, secret

    def client_credentials(self, form, authorization, my_domain, login_host):
        if login_host:
            raise OAuthError("invalid_grant", "request not supported on this domain")
        app, secret = self.client_auth(form, authorization)
        if not app.client_secret or not hmac.compare_digest(app.client_secret, secret or ""):
            raise OAuthError("invalid_client", "invalid client credentials", 401)
        if not app.cc_enabled:
            raise OAuthError("invalid_grant", "client credentials flow is not enabled for this app")
        user = self.state.user_by_username(app.cc_user) or self.state.user_by_id(app.cc_user or "")
        if user is None:
            raise OAuthError("invalid_grant", "no client credentials user enabled")
        scopes = [s for s in app.scopes if s not in NOT_FOR_CLIENT_CREDENTIALS]
        return self.issue(app, user, my_domain, scopes)

    def authorize(self, params: dict, my_domain: str) -> str:
        """GET /services/oauth2/authorize: no login page; the admin user (or login_hint) approves at once.
        Returns the redirect URL, or raises OAuthError for problems that can't be redirected."""
        app = self.app(params.get("client_id"))
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        redirect = params.get("redirect_uri", "")
        if redirect not in app.callbacks:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")

        def back(**values):
            if params.get("state") is not None:
                values["state"] = params["state"]
            return redirect + ("&" if "?" in redirect else "?") + urllib.parse.urlencode(values)

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type", error_description="response type not supported")
        challenge = params.get("code_challenge")
        if app.pkce_required and not challenge:
            return back(error="invalid_request", error_description="missing required code challenge")
        user = self.state.user_by_username(params.get("login_hint")) or self.state.my_domain_user()
        code = "aPr" + secrets.token_urlsafe(24)
        self.state.auth_codes[code] = {
            "client_id": app.client_id, "redirect_uri": redirect, "user_id": user["Id"], "created": time.time(),
            "challenge": challenge, "method": params.get("code_challenge_method", "plain"),
            "nonce": params.get("nonce"), "scope": params.get("scope"),
        }
        return back(code=code)

    def authorization_code(self, form, authorization, my_domain):
        app, secret = self.client_auth(form, authorization)
        grant = self.state.auth_codes.pop(form.get("code", ""), None)
        if grant is None or grant["client_id"] != app.client_id or time.time() - grant["created"] > 900:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if grant["redirect_uri"] != form.get("redirect_uri"):
            raise OAuthError("invalid_grant", "redirect_uri must match configuration")
        if not (app.secret_optional and grant["challenge"]) and not hmac.compare_digest(app.client_secret or "",
                                                                                        secret or ""):
            raise OAuthError("invalid_client", "invalid client credentials", 401)
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            expected = verifier if grant["method"] == "plain" else b64url(hashlib.sha256(verifier.encode()).digest())
            if not hmac.compare_digest(expected, grant["challenge"]):
                raise OAuthError("invalid_grant", "invalid code verifier")
        user = self.state.user_by_id(grant["user_id"])
        requested = (grant["scope"] or "").split()
        scopes = [s for s in app.scopes if not requested or s in requested or s == "id"]
        response = self.issue(app, user, my_domain, scopes)
        if "openid" in scopes:
            response["id_token"] = self.id_token(app, user, my_domain, grant["nonce"])
        return response

    # --- tokens -----------------------------------------------------------------------------------------------

    def identity_url(self, my_domain, user):
        return "%s/id/%s/%s" % (my_domain, self.state.org18, user["Id"])

    def issue(self, app, user, my_domain, scopes) -> dict:
        token = "%s!AQ%s" % (self.state.org15, secrets.token_urlsafe(72))
        issued = str(int(time.time() * 1000))
        ttl = self.state.switches["token_ttl"]
        self.state.tokens[token] = {"user_id": user["Id"], "client_id": app.client_id, "scope": " ".join(scopes),
                                    "issued": time.time(), "expires": time.time() + ttl if ttl else None,
                                    "expired": False}
        self.state.logins += 1
        identity = self.identity_url(my_domain, user)
        key = (app.client_secret or self.kid).encode()
        signature = base64.b64encode(hmac.new(key, (identity + issued).encode(), hashlib.sha256).digest()).decode()
        return {"access_token": token, "signature": signature, "scope": " ".join(scopes), "instance_url": my_domain,
                "id": identity, "token_type": "Bearer", "issued_at": issued}

    def check(self, token: str):
        """The user of a valid access token, or None (unknown, expired or revoked)."""
        info = self.state.tokens.get(token or "")
        if info is None or info["expired"]:
            return None
        if info["expires"] and time.time() > info["expires"]:
            info["expired"] = True
            return None
        return self.state.user_by_id(info["user_id"])

    def expire(self, token=None, username=None) -> int:
        count = 0
        user = self.state.user_by_username(username) if username else None
        if username and user is None:
            return 0
        for value, info in self.state.tokens.items():
            if (token is None or value == token) and (user is None or info["user_id"] == user["Id"]):
                count += not info["expired"]
                info["expired"] = True
        return count

    def id_token(self, app, user, my_domain, nonce):
        now = int(time.time())
        claims = {"iss": my_domain, "sub": self.identity_url(my_domain, user), "aud": app.client_id,
                  "iat": now, "exp": now + 300, "preferred_username": user["Username"], "email": user["Email"],
                  "name": user["Name"]}
        if nonce:
            claims["nonce"] = nonce
        signing_input = "%s.%s" % (b64url(json.dumps({"alg": "RS256", "kid": self.kid}).encode()),
                                   b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    # --- discovery and user info ------------------------------------------------------------------------------

    def userinfo(self, user, my_domain) -> dict:
        return {
            "sub": self.identity_url(my_domain, user), "user_id": user["Id"], "organization_id": self.state.org18,
            "preferred_username": user["Username"], "nickname": user["CommunityNickname"], "name": user["Name"],
            "email": user["Email"], "email_verified": True, "given_name": user["FirstName"],
            "family_name": user["LastName"], "zoneinfo": user["TimeZoneSidKey"], "locale": user["LocaleSidKey"],
            "user_type": "STANDARD", "active": user["IsActive"], "is_app_installed": True,
            "profile": "%s/%s" % (my_domain, user["Id"]),
            "urls": {"rest": my_domain + "/services/data/v{version}/",
                     "metadata": my_domain + "/services/Soap/m/{version}/" + self.state.org15},
            "updated_at": user["LastModifiedDate"],
        }

    def openid_configuration(self, my_domain) -> dict:
        return {
            "issuer": my_domain, "authorization_endpoint": my_domain + "/services/oauth2/authorize",
            "token_endpoint": my_domain + "/services/oauth2/token",
            "userinfo_endpoint": my_domain + "/services/oauth2/userinfo",
            "revocation_endpoint": my_domain + "/services/oauth2/revoke",
            "introspection_endpoint": my_domain + "/services/oauth2/introspect",
            "jwks_uri": my_domain + "/id/keys",
            "response_types_supported": ["code", "token", "token id_token"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["id", "api", "web", "full", "refresh_token", "openid", "profile", "email",
                                 "address", "phone", "offline_access"],
            "claims_supported": ["active", "address", "email", "email_verified", "family_name", "given_name", "iss",
                                 "locale", "name", "nickname", "organization_id", "preferred_username", "profile",
                                 "sub", "updated_at", "user_id", "user_type", "zoneinfo"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic",
                                                      "private_key_jwt"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "client_credentials", JWT_BEARER],
        }

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "e": b64url(numbers.e.to_bytes(3, "big")),
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        }]}


def component(metadata, type_name, app):
    return next((r["values"] for r in metadata.get(type_name, {}).values()
                 if r["values"].get("externalClientApplication") == app), None)
