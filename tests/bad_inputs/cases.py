"""The bad-input matrix: one bad input per case, the message fragment that must name it, and where it is refused.

Each case runs one module (directly, with its arguments in a file, as Ansible runs it) or the role (one
ansible-playbook run) against the matrix's TLS sandboxes; test_bad_inputs.py checks that it fails, that the
message contains `expect`, that there is no traceback and no secret in the output, and, from both sandboxes'
request logs, that nothing was written:

  stage "input"  refused before any request: neither sandbox sees a request at all
  stage "tls"    refused at the TLS handshake: no HTTP request arrives either
  stage "lookup" refused after reading (a name that does not resolve, a login refused): reads only, no write

Arguments may hold <<placeholders>> (see conftest.context). Module cases get the connection options of their
side (authentik: url, token, ca_path; Salesforce: instance_url and the JWT login, ca_path) unless `conn` overrides
them (None removes one). Role cases run against an integration the role has already converged (the usual
situation: a variable changed on an existing setup), so a reference that fails late still writes nothing.

`python tests/bad_inputs/cases.py > docs/bad-inputs.md` writes the documentation of the table.
"""

ROLE = "role"


def case(ident, target, what, args, expect, stage, conn=None, env=None, base=None):
    """One row; `base` holds valid arguments the bad ones are added to (the documentation shows `args` only)."""
    return {"id": ident, "target": target, "what": what, "args": dict(base or {}, **args), "shown": args,
            "expect": expect, "stage": stage, "conn": conn or {}, "env": env or {}}


PROVIDER = {"name": "Matrix provider", "authorization_flow": "default-provider-authorization-implicit-consent",
            "acs_url": "https://company.my.salesforce.com?so=00D5g000004Ab1C"}


def cold(tag):
    """Role names under which nothing exists yet on either side (a first run), one set per case."""
    return {"salesforce_sso_application_name": "Matrix " + tag, "salesforce_sso_application_slug": "matrix-" + tag,
            "salesforce_sso_config_name": "matrix_" + tag.replace("-", "_"),
            "salesforce_sso_oauth_source_slug": "matrix-" + tag,
            "salesforce_sso_external_client_app_name": "matrix_" + tag.replace("-", "_")}


CASES = [
    # -- authentik connection --------------------------------------------------------------------------------------
    case("authentik-url-no-scheme", "saml_property_mapping", "authentik URL without a scheme",
         {"name": "Matrix", "saml_name": "User.Email", "expression": "return 1"},
         "url must be an absolute http(s) URL, got 'authentik.company'", "input", conn={"url": "authentik.company"}),
    case("authentik-url-with-space", "application", "authentik URL with a space in the host",
         {"slug": "matrix"}, "url must be an absolute http(s) URL", "input",
         conn={"url": "https://authentik .company"}),
    case("authentik-wrong-token", "saml_property_mapping", "authentik token that is not valid",
         {"name": "Matrix", "saml_name": "User.Email", "expression": "return 1"},
         "HTTP 403, the token is invalid or lacks permission (Token invalid/expired)", "lookup",
         conn={"token": "not-the-token"}),
    case("authentik-timeout-zero", "certificate_keypair_info", "timeout of 0 seconds",
         {"name": "authentik Self-signed Certificate"}, "timeout must be at least 1 second", "input",
         conn={"timeout": 0}),
    case("authentik-tls-untrusted", "certificate_keypair_info",
         "TLS: authentik's certificate is signed by a private CA, validate_certs on, no ca_path",
         {"name": "authentik Self-signed Certificate"}, "TLS verification failed", "tls",
         conn={"ca_path": None}),
    case("authentik-ca-path-missing-file", "certificate_keypair_info", "ca_path names a file that does not exist",
         {"name": "authentik Self-signed Certificate"}, "ca_path <<missing_file>> cannot be read", "input",
         conn={"ca_path": "<<missing_file>>"}),
    # -- property mappings -----------------------------------------------------------------------------------------
    case("saml-mapping-syntax-error", "saml_property_mapping", "expression with a Python syntax error",
         {"name": "Matrix: Email", "saml_name": "User.Email", "expression": "return request.user.email("},
         "expression has a Python syntax error on line 1", "input"),
    case("saml-mapping-create-incomplete", "saml_property_mapping", "new SAML mapping without saml_name",
         {"name": "Matrix: Email", "expression": "return request.user.email"}, "also give: saml_name", "lookup"),
    case("scim-mapping-syntax-error", "scim_property_mapping", "SCIM expression with a syntax error",
         {"name": "Matrix SCIM", "expression": 'return {"userName": request.user.email'},
         "expression has a Python syntax error", "input"),
    # -- certificates ----------------------------------------------------------------------------------------------
    case("certificate-not-pem", "certificate_keypair", "certificate that is not PEM",
         {"name": "Matrix import", "certificate": "<<not_pem>>", "private_key": "<<one_key>>"},
         "certificate is not a PEM certificate", "input"),
    case("certificate-broken-pem", "certificate_keypair", "PEM block whose content is not a certificate",
         {"name": "Matrix import", "certificate": "<<broken_pem>>"}, "certificate is not a valid PEM certificate",
         "input"),
    case("certificate-expired", "certificate_keypair", "expired certificate",
         {"name": "Matrix import", "certificate": "<<expired_pem>>", "private_key": "<<expired_key>>"},
         "certificate expired on", "input"),
    case("certificate-key-mismatch", "certificate_keypair", "private key that does not belong to the certificate",
         {"name": "Matrix import", "certificate": "<<one_pem>>", "private_key": "<<other_key>>"},
         "private_key does not belong to certificate", "input"),
    case("certificate-key-not-pem", "certificate_keypair", "private key that is not PEM",
         {"name": "Matrix import", "certificate": "<<one_pem>>", "private_key": "<<not_pem>>"},
         "private_key is not a PEM private key", "input"),
    case("certificate-import-and-generate", "certificate_keypair", "conflicting options: import and generate",
         {"name": "Matrix import", "certificate": "<<one_pem>>", "common_name": "matrix"},
         "parameters are mutually exclusive: certificate|common_name", "input"),
    case("certificate-key-alone", "certificate_keypair", "private_key without certificate",
         {"name": "Matrix import", "private_key": "<<one_key>>"},
         "missing parameter(s) required by 'private_key': certificate", "input"),
    case("certificate-validity-zero", "certificate_keypair", "validity_days of 0",
         {"name": "Matrix generated", "validity_days": 0}, "validity_days must be at least 1", "input"),
    case("certificate-wrong-algorithm", "certificate_keypair", "wrong enum value: algorithm dsa",
         {"name": "Matrix generated", "algorithm": "dsa"}, "value of algorithm must be one of: rsa, ecdsa", "input"),
    case("certificate-info-unknown", "certificate_keypair_info", "unknown certificate name",
         {"name": "No such certificate"}, "certificate key pair 'No such certificate' does not exist", "lookup"),
    # -- SAML provider ---------------------------------------------------------------------------------------------
    case("provider-acs-not-url", "saml_provider", "ACS URL that is not a URL",
         {"acs_url": "company.my.salesforce.com"}, "acs_url must be an absolute http(s) URL", "input", base=PROVIDER),
    case("provider-unknown-flow", "saml_provider", "unknown flow slug",
         {"authorization_flow": "no-such-flow"},
         "flow 'no-such-flow' (option authorization_flow) does not exist", "lookup", base=PROVIDER),
    case("provider-flow-by-title", "saml_provider", "flow given by its title (two flows share it) instead of its slug",
         {"authorization_flow": "Authorize Application"},
         "authorization_flow must be a slug (letters, digits, '-' and '_' only), got 'Authorize Application'",
         "input", base=PROVIDER),
    case("provider-unknown-certificate", "saml_provider", "unknown signing certificate",
         {"signing_certificate": "No such certificate"},
         "certificate key pair 'No such certificate' (option signing_certificate) does not exist", "lookup",
         base=PROVIDER),
    case("provider-certificate-by-id", "saml_provider", "certificate given by id (wrong shape: a name is expected)",
         {"signing_certificate": "5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10"},
         "certificate key pair '5d9c4f34-0f0e-4a8e-a0b4-6a7c3f7d2b10' (option signing_certificate) does not exist",
         "lookup", base=PROVIDER),
    case("provider-unknown-mapping", "saml_provider", "unknown managed property mapping",
         {"property_mappings": ["goauthentik.io/providers/saml/nope"]},
         "SAML property mapping 'goauthentik.io/providers/saml/nope' (option property_mappings) does not exist",
         "lookup", base=PROVIDER),
    case("provider-wrong-binding", "saml_provider", "wrong enum value: sp_binding artifact",
         {"sp_binding": "artifact"}, "value of sp_binding must be one of: post, redirect, got: artifact",
         "input", base=PROVIDER),
    case("provider-wrong-type", "saml_provider", "wrong type: sign_assertion maybe",
         {"sign_assertion": "maybe"}, "argument 'sign_assertion' is of type str and we were unable to convert to bool",
         "input", base=PROVIDER),
    case("provider-create-without-acs", "saml_provider", "new provider without acs_url",
         {"name": "Matrix provider", "authorization_flow": "default-provider-authorization-implicit-consent"},
         "To create SAML provider 'Matrix provider', also give: acs_url", "lookup"),
    case("provider-info-unknown", "saml_provider_info", "unknown provider name", {"name": "No such provider"},
         "SAML provider 'No such provider' does not exist", "lookup"),
    case("provider-info-no-application", "saml_provider_info", "provider that no application uses",
         {"name": "Matrix orphan"}, "SAML provider 'Matrix orphan' is not used by any application yet", "lookup"),
    # -- application and bindings ----------------------------------------------------------------------------------
    case("application-bad-slug", "application", "slug with a space", {"slug": "sales force", "name": "Matrix"},
         "slug must be a slug (letters, digits, '-' and '_' only), got 'sales force'", "input"),
    case("application-unknown-provider", "application", "unknown provider name",
         {"slug": "matrix", "provider": "No such provider"},
         "provider 'No such provider' (option provider) does not exist", "lookup"),
    case("application-wrong-mode", "application", "wrong enum value: policy_engine_mode some",
         {"slug": "matrix", "policy_engine_mode": "some"}, "value of policy_engine_mode must be one of: all, any",
         "input"),
    case("binding-unknown-group", "application_binding", "unknown group",
         {"application": "matrix", "group": "No such group"}, "group 'No such group' (option group) does not exist",
         "lookup"),
    case("binding-unknown-application", "application_binding", "unknown application slug",
         {"application": "no-such-app", "group": "authentik Admins"},
         "application 'no-such-app' (option application) does not exist", "lookup"),
    case("binding-group-and-user", "application_binding", "conflicting options: group and user",
         {"application": "matrix", "group": "authentik Admins", "user": "akadmin"},
         "parameters are mutually exclusive: group|user|policy", "input"),
    case("binding-ambiguous", "application_binding", "ambiguous: the group is bound twice already",
         {"application": "matrix", "group": "authentik Admins", "order": 5},
         "application 'matrix' has 2 bindings of group 'authentik Admins'; remove the duplicates first", "lookup"),
    # -- OAuth source and SCIM provider ----------------------------------------------------------------------------
    case("source-bad-url", "oauth_source", "authorization URL without a scheme",
         {"slug": "matrix", "name": "Matrix",
          "authorization_url": "company.my.salesforce.com/services/oauth2/authorize"},
         "authorization_url must be an absolute http(s) URL", "input"),
    case("source-wrong-pkce", "oauth_source", "wrong enum value: pkce s256 (the value is S256)",
         {"slug": "matrix", "pkce": "s256"}, "value of pkce must be one of: none, plain, S256, got: s256", "input"),
    case("source-create-incomplete", "oauth_source", "new source without its consumer secret and URLs",
         {"slug": "matrix", "name": "Matrix", "consumer_key": "3MVG9key"},
         "To create OAuth source 'matrix', also give: consumer_secret, authorization_url", "lookup"),
    case("scim-oauth-without-source", "scim_provider", "conflicting options: auth_mode oauth without oauth_source",
         {"name": "Matrix SCIM", "scim_url": "https://company.my.salesforce.com/services/scim/v2",
          "auth_mode": "oauth"},
         "auth_mode oauth needs oauth_source", "input"),
    case("scim-bad-url", "scim_provider", "SCIM URL that is not a URL", {"name": "Matrix SCIM", "scim_url": "scim"},
         "scim_url must be an absolute http(s) URL, got 'scim'", "input"),
    case("scim-unknown-source", "scim_provider", "unknown OAuth source slug",
         {"name": "Matrix SCIM", "scim_url": "https://company.my.salesforce.com/services/scim/v2", "auth_mode": "oauth",
          "oauth_source": "no-such-source"}, "OAuth source 'no-such-source' (option oauth_source) does not exist",
         "lookup"),
    case("scim-wrong-mode", "scim_provider", "wrong enum value: compatibility_mode sap",
         {"name": "Matrix SCIM", "compatibility_mode": "sap"}, "value of compatibility_mode must be one of", "input"),
    # -- Salesforce connection and login ---------------------------------------------------------------------------
    case("salesforce-url-no-scheme", "salesforce_org_info", "instance URL without a scheme", {},
         "instance_url must be a URL such as https://acme.my.salesforce.com, got 'company.my.salesforce.com'", "input",
         conn={"instance_url": "company.my.salesforce.com"}),
    case("salesforce-login-host", "salesforce_org_info", "instance URL is the shared login host", {},
         "instance_url must be the org's My Domain URL", "input",
         conn={"instance_url": "https://login.salesforce.com"}),
    case("salesforce-no-login", "salesforce_org_info", "no login at all", {}, "No Salesforce credentials were given",
         "input", conn={"client_id": None, "username": None, "private_key_file": None}),
    case("salesforce-client-id-alone", "salesforce_org_info", "client_id without a key or a secret", {},
         "client_id needs either private_key or private_key_file together with username", "input",
         conn={"username": None, "private_key_file": None}),
    case("salesforce-key-and-file", "salesforce_org_info", "conflicting options: private_key and private_key_file",
         {}, "parameters are mutually exclusive: private_key|private_key_file", "input",
         conn={"private_key": "<<one_key>>"}),
    case("salesforce-key-not-pem", "salesforce_org_info", "private key file that is not PEM", {},
         "private_key_file is not PEM text", "input", conn={"private_key_file": "<<not_pem_file>>"}),
    case("salesforce-key-file-missing", "salesforce_org_info", "private key file that does not exist", {},
         "private_key_file <<missing_file>> cannot be read", "input", conn={"private_key_file": "<<missing_file>>"}),
    case("salesforce-key-mismatch", "salesforce_org_info", "JWT key that does not match the app's certificate", {},
         "Salesforce refused the JWT bearer login", "lookup", conn={"private_key_file": "<<other_key_file>>"}),
    case("salesforce-wrong-secret", "salesforce_org_info", "wrong client secret", {},
         "Salesforce refused the client credentials login", "lookup",
         conn={"username": None, "private_key_file": None, "client_secret": "not-the-secret"}),
    case("salesforce-wrong-token", "salesforce_org_info", "access token that is not valid",
         {"profiles": ["Standard User"]}, "Salesforce rejected the access token (INVALID_SESSION_ID", "lookup",
         conn={"access_token": "00DSB0000000002!not-a-token", "client_id": None, "username": None,
               "private_key_file": None}),
    case("salesforce-token-with-bearer", "salesforce_org_info", "access token given with its 'Bearer ' prefix", {},
         "access_token contains whitespace inside it; give the bare token (without 'Bearer ')", "input",
         conn={"access_token": "Bearer 00DSB0000000002!abc"}),
    case("salesforce-api-version-word", "salesforce_org_info", "API version that is not a number", {},
         "api_version must look like 63.0, got 'sixty-three'", "input", conn={"api_version": "sixty-three"}),
    case("salesforce-api-version-old", "salesforce_org_info", "API version older than supported", {},
         "api_version 50.0 is older than 60.0", "input", conn={"api_version": "50"}),
    case("salesforce-timeout-negative", "salesforce_org_info", "negative timeout", {},
         "timeout must be at least 1 second", "input", conn={"timeout": -5}),
    case("salesforce-tls-untrusted", "salesforce_org_info",
         "TLS: Salesforce's certificate is signed by a private CA, validate_certs on, no ca_path", {},
         "TLS verification failed (certificate verify failed", "tls", conn={"ca_path": None}),
    # -- Salesforce modules ----------------------------------------------------------------------------------------
    case("org-unknown-profile", "salesforce_org_info", "unknown profile name", {"profiles": ["No Such Profile"]},
         "Not found in the org: profile 'No Such Profile'", "lookup"),
    case("settings-lockout", "salesforce_sso_settings", "disabling password logins without force",
         {"disable_login_with_salesforce_credentials": True},
         "disable_login_with_salesforce_credentials=true can lock out every administrator", "input"),
    case("config-bad-api-name", "salesforce_saml_sso_config", "API name with a space",
         {"name": "authentik idp"}, "name 'authentik idp' is not a valid API name", "input"),
    case("config-certificate-not-pem", "salesforce_saml_sso_config", "IdP certificate that is not PEM",
         {"name": "matrix", "issuer": "https://authentik.company", "idp_certificate": "<<not_pem>>"},
         "idp_certificate is not a PEM certificate", "input"),
    case("config-certificate-expired", "salesforce_saml_sso_config", "expired IdP certificate",
         {"name": "matrix", "issuer": "https://authentik.company", "idp_certificate": "<<expired_pem>>"},
         "idp_certificate expired on", "input"),
    case("config-jit-username", "salesforce_saml_sso_config",
         "conflicting options: standard JIT with the username as identity",
         {"name": "matrix", "jit_provisioning": "standard", "identity_type": "username"},
         "requires identity_type federation_id, not username", "input"),
    case("config-attribute-without-name", "salesforce_saml_sso_config",
         "identity in an attribute without the attribute's name", {"name": "matrix", "identity_location": "attribute"},
         "identity_location is attribute but all of the following are missing: attribute_name", "input"),
    case("config-bad-login-url", "salesforce_saml_sso_config", "IdP login URL that is not a URL",
         {"name": "matrix", "idp_login_url": "authentik.company/sso"}, "idp_login_url must be an absolute http(s) URL",
         "input"),
    case("config-wrong-signature", "salesforce_saml_sso_config", "wrong enum value: request_signature_method SHA256",
         {"name": "matrix", "request_signature_method": "SHA256"},
         "value of request_signature_method must be one of: RSA-SHA1, RSA-SHA256, got: SHA256", "input"),
    case("config-unknown-certificate", "salesforce_saml_sso_config", "unknown request signing certificate",
         {"name": "matrix", "issuer": "https://authentik.company", "idp_certificate": "<<one_pem>>",
          "request_signing_certificate": "NoSuchCert"},
         "certificate 'NoSuchCert' (option request_signing_certificate) does not exist", "lookup"),
    case("config-create-incomplete", "salesforce_saml_sso_config", "new configuration without issuer and certificate",
         {"name": "matrix"}, "To create SAML SSO configuration 'matrix', also give: issuer, idp_certificate", "lookup"),
    case("eca-connected-app", "salesforce_external_client_app", "wrong app type: a classic Connected App",
         {"name": "matrix", "app_type": "connected_app"}, "Connected Apps can no longer be created", "input"),
    case("eca-name-too-long", "salesforce_external_client_app", "API name longer than 70 characters",
         {"name": "a" * 71}, "name must be at most 70 characters long", "input"),
    case("eca-unknown-run-as", "salesforce_external_client_app", "unknown client credentials run-as user",
         {"name": "matrix", "contact_email": "admin@example.com", "callback_urls": ["https://authentik.company/cb/"],
          "scopes": ["api"], "client_credentials_flow": True, "client_credentials_user": "nobody@matrix.test"},
         "client_credentials_user 'nobody@matrix.test' does not exist", "lookup"),
    # -- the role --------------------------------------------------------------------------------------------------
    case("role-wrong-state", ROLE, "wrong enum value: salesforce_sso_state", {"salesforce_sso_state": "enabled"},
         "value of salesforce_sso_state must be one of: present, absent, got: enabled", "input"),
    case("role-scim-without-source", ROLE, "conflicting options: SCIM without the OAuth source",
         {"salesforce_sso_scim": True}, "salesforce_sso_scim needs salesforce_sso_oauth_source", "input"),
    case("role-authentik-url", ROLE, "authentik URL without a scheme",
         {"salesforce_sso_authentik_url": "authentik.company"},
         "salesforce_sso_authentik_url must be an absolute http(s) URL, got 'authentik.company'", "input"),
    case("role-unknown-profile", ROLE, "unknown JIT profile", {"salesforce_sso_profile": "No Such Profile"},
         "Not found in the org: profile 'No Such Profile'", "lookup"),
    case("role-profile-id-shape", ROLE, "profile id of the wrong shape (12 characters)",
         {"salesforce_sso_profile": "00e5g0000012"}, "Not found in the org: profile '00e5g0000012'", "lookup"),
    case("role-wrong-token", ROLE, "authentik token that is not valid", {"salesforce_sso_authentik_token": "wrong"},
         "the token is invalid or lacks permission", "lookup"),
    case("role-key-mismatch", ROLE, "Salesforce JWT key that does not match the app's certificate",
         {"salesforce_sso_private_key_file": "<<other_key_file>>"}, "Salesforce refused the JWT bearer login",
         "lookup"),
    case("role-unknown-certificate", ROLE, "unknown signing certificate",
         {"salesforce_sso_signing_certificate": "No such certificate"},
         "certificate key pair 'No such certificate' does not exist", "lookup"),
    case("role-unknown-group", ROLE, "unknown access group", {"salesforce_sso_access_groups": ["No such group"]},
         "Not found in authentik: group 'No such group'", "lookup"),
    case("role-bad-config-name", ROLE, "SAML SSO configuration name that is not an API name",
         {"salesforce_sso_config_name": "authentik sso"}, "name 'authentik sso' is not a valid API name", "input"),
    case("role-tls-untrusted", ROLE, "TLS: private CA, certificate validation on, no CA given (no *_CA_PATH)",
         {}, "TLS verification failed", "tls",
         env={"SALESFORCE_CA_PATH": None, "AUTHENTIK_CA_PATH": None}),
] + [
    # -- the role's preflight (issue 9, items 4 and 5) -------------------------------------------------------------
    # "cold": names under which nothing exists yet on either side, as on a first run: without the preflight, these
    # cases wrote the SAML mappings and the SAML SSO configuration (and more) before failing.
    case("role-authentik-validate-certs-word", ROLE, "AUTHENTIK_VALIDATE_CERTS set to a word that is not a boolean",
         {}, "argument 'salesforce_sso_authentik_validate_certs' is of type str and we were unable to convert to bool: "
         "The value 'enabled' is not a valid boolean", "input", env={"AUTHENTIK_VALIDATE_CERTS": "enabled"}),
    case("role-salesforce-validate-certs-typo", ROLE, "SALESFORCE_VALIDATE_CERTS with a typo", {},
         "argument 'salesforce_sso_validate_certs' is of type str and we were unable to convert to bool: "
         "The value 'ture' is not a valid boolean", "input", env={"SALESFORCE_VALIDATE_CERTS": "ture"}),
    case("role-jit-word", ROLE, "switch given a word: salesforce_sso_jit_provisioning standard",
         {"salesforce_sso_jit_provisioning": "standard"},
         "argument 'salesforce_sso_jit_provisioning' is of type str and we were unable to convert to bool", "input"),
    case("role-scim-y", ROLE, "switch given as y (read as true, where the bool filter reads false): SCIM without the "
         "OAuth source", {"salesforce_sso_scim": "y"}, "salesforce_sso_scim needs salesforce_sso_oauth_source",
         "input"),
    case("role-bad-slug-cold", ROLE, "application slug with a space (cold)",
         {"salesforce_sso_application_slug": "sales force"},
         "salesforce_sso_application_slug 'sales force' may contain only letters, digits, '-' and '_'", "input",
         base=cold("slug")),
    case("role-bad-source-slug", ROLE, "OAuth source slug with a dot",
         {"salesforce_sso_oauth_source": True, "salesforce_sso_oauth_source_slug": "sales.force"},
         "salesforce_sso_oauth_source_slug 'sales.force' may contain only letters, digits, '-' and '_'", "input"),
    case("role-bad-eca-name", ROLE, "External Client App API name ending with an underscore",
         {"salesforce_sso_oauth_source": True, "salesforce_sso_external_client_app_name": "authentik_"},
         "salesforce_sso_external_client_app_name 'authentik_' is not a valid External Client App API name", "input"),
    case("role-flow-by-title", ROLE, "flow given by its title instead of its slug",
         {"salesforce_sso_authorization_flow": "Authorize Application"},
         "salesforce_sso_authorization_flow 'Authorize Application' is not a flow slug", "input"),
    case("role-contact-email", ROLE, "contact e-mail that is not an address",
         {"salesforce_sso_oauth_source": True, "salesforce_sso_contact_email": "admin"},
         "salesforce_sso_contact_email 'admin' is not an e-mail address", "input"),
    case("role-scim-without-run-as", ROLE, "SCIM without the client credentials user its token needs",
         {"salesforce_sso_oauth_source": True, "salesforce_sso_scim": True},
         "salesforce_sso_scim needs salesforce_sso_client_credentials_user", "input"),
    case("role-groups-not-list", ROLE, "access groups given as one string",
         {"salesforce_sso_access_groups": "authentik Admins"},
         "salesforce_sso_access_groups must be a list of group names, got \"authentik Admins\"", "input"),
    case("role-expression-list", ROLE, "expression given as a list (would be stored as its text)",
         {"salesforce_sso_attribute_expressions": {"email": ["return", "request.user.email"]}},
         "salesforce_sso_attribute_expressions must give each expression as a string of Python", "input"),
    case("role-expression-unknown-key", ROLE, "expression for an attribute the role does not have (mail)",
         {"salesforce_sso_attribute_expressions": {"mail": "return request.user.email"}},
         "salesforce_sso_attribute_expressions may only override username, email, last_name, profile_id, "
         "federation_id, got [\"mail\"]", "input"),
    case("role-expression-syntax-cold", ROLE, "third of the five expressions with a syntax error (cold)",
         {"salesforce_sso_attribute_expressions": {"last_name": "return request.user.name.split("}},
         "expression has a Python syntax error", "lookup", base=cold("expression")),
    case("role-profile-id-unknown", ROLE, "JIT profile id of the right shape that the org does not have",
         {"salesforce_sso_profile": "00e000000000000"},
         "Not found in the org: profile id '00e000000000000'", "lookup"),
    case("role-unknown-certificate-cold", ROLE, "unknown signing certificate (cold)",
         {"salesforce_sso_signing_certificate": "No such certificate"},
         "certificate key pair 'No such certificate' does not exist", "lookup", base=cold("certificate")),
    case("role-unknown-flow-cold", ROLE, "unknown invalidation flow (cold)",
         {"salesforce_sso_invalidation_flow": "no-such-flow"},
         "Not found in authentik: flow 'no-such-flow'", "lookup",
         base=cold("flow")),
    case("role-unknown-group-cold", ROLE, "unknown access group (cold)",
         {"salesforce_sso_access_groups": ["authentik Admins", "No such group"]},
         "Not found in authentik: group 'No such group'", "lookup", base=cold("group")),
    case("role-unknown-preview-user-cold", ROLE, "unknown preview user (cold)",
         {"salesforce_sso_preview_user": "nobody"},
         "Not found in authentik: user 'nobody'", "lookup", base=cold("preview")),
    case("role-unknown-run-as-cold", ROLE, "unknown client credentials user (cold)",
         {"salesforce_sso_oauth_source": True, "salesforce_sso_client_credentials_user": "nobody@matrix.test"},
         "Not found in the org: user 'nobody@matrix.test'", "lookup", base=cold("run-as")),
] + [
    # -- authentik: identifiers, token, URLs and PEM inputs (issue 9, items 2, 3 and 9) -----------------------------
    case("source-slug-traversal", "oauth_source", "slug that walks to another source (deleted it before)",
         {"slug": "does-not-exist/../matrix", "state": "absent"}, "slug must be a slug", "input"),
    case("binding-application-traversal", "application_binding",
         "application slug that walks to another application (granted access to it before)",
         {"application": "other/../matrix", "group": "authentik Admins"}, "application must be a slug", "input"),
    case("application-slug-query", "application", "slug with a query string",
         {"slug": "matrix?superuser_full_list=true", "name": "Matrix"}, "slug must be a slug", "input"),
    case("provider-flow-slug-encoded", "saml_provider", "flow slug with an encoded slash",
         {"authorization_flow": "a%2F..%2Fb"}, "authorization_flow must be a slug", "input", base=PROVIDER),
    case("provider-name-control", "saml_provider_info", "name with a NUL character", {"name": "Matrix\x00orphan"},
         "name contains a control character", "input"),
    case("authentik-token-newline", "oauth_source",
         "token with a trailing newline (a vault block scalar) and a traversal slug: refused, token never shown",
         {"slug": "../matrix", "state": "absent"}, "slug must be a slug", "input", conn={"token": "<<token>>\n"}),
    case("authentik-token-bearer", "certificate_keypair_info", "token given with its 'Bearer ' prefix",
         {"name": "authentik Self-signed Certificate"}, "token contains whitespace inside it", "input",
         conn={"token": "Bearer <<token>>"}),
    case("authentik-token-non-ascii", "certificate_keypair_info", "token with a non-ASCII character",
         {"name": "authentik Self-signed Certificate"}, "token contains characters that cannot be sent",
         "input", conn={"token": "<<token>>\u00e9"}),
    case("application-launch-url-scheme", "application", "launch URL with a javascript: scheme",
         {"slug": "matrix", "launch_url": "javascript:alert(1)"}, "launch_url must be an absolute http(s) URL",
         "input"),
    case("provider-acs-empty", "saml_provider", "empty ACS URL on an existing provider",
         {"name": "Matrix orphan", "acs_url": ""}, "acs_url must not be empty", "input"),
    case("certificate-key-inside", "certificate_keypair", "private key pasted into the certificate option",
         {"name": "Matrix import", "certificate": "<<one_pem>>\n<<one_key>>", "private_key": "<<one_key>>"},
         "certificate holds a private key", "input"),
    case("certificate-swapped", "certificate_keypair", "certificate and private key swapped",
         {"name": "Matrix import", "certificate": "<<one_key>>", "private_key": "<<one_pem>>"},
         "certificate and private_key are swapped", "input"),
] + [
    # -- Salesforce: identifiers, tokens and URLs (issue 9, items 2, 3 and 9) ---------------------------------------
    case("config-name-traversal", "salesforce_saml_sso_config", "API name that walks to another configuration",
         {"name": "other/../authentik", "state": "absent"}, "name 'other/../authentik' is not a valid API name",
         "input"),
    case("eca-name-query", "salesforce_external_client_app", "API name with a query string",
         {"name": "authentik?fullNames=victim", "state": "absent"}, "is not a valid API name", "input"),
    case("config-name-control", "salesforce_saml_sso_config", "API name with a NUL character",
         {"name": "matrix\x00"}, "name contains a control character", "input"),
    case("config-signing-certificate-encoded", "salesforce_saml_sso_config",
         "request signing certificate name with encoded slashes",
         {"name": "matrix", "request_signing_certificate": "a%2F..%2Fb"},
         "request_signing_certificate 'a%2F..%2Fb' is not a valid API name", "input"),
    case("org-certificate-traversal", "salesforce_org_info", "certificate API name with a path",
         {"certificates": ["../SelfSignedCert_01Jan2026"]}, "certificates '../SelfSignedCert_01Jan2026' is not a "
         "valid API name", "input"),
    case("org-user-newline", "salesforce_org_info", "username with a trailing newline",
         {"users": ["admin@example.com\n"]}, "has leading or trailing whitespace", "input"),
    case("config-run-as-space", "salesforce_saml_sso_config", "JIT run-as username with a leading space",
         {"name": "matrix", "jit_provisioning": "custom", "jit_handler": "AuthentikJitHandler",
          "jit_run_as": " admin@example.com"}, "jit_run_as ' admin@example.com' has leading or trailing whitespace",
         "input"),
    case("salesforce-token-non-ascii", "salesforce_org_info", "access token with a non-ASCII character", {},
         "access_token contains characters that cannot be sent in an HTTP header", "input",
         conn={"access_token": "00DSB0000000002!abc\u00e9", "client_id": None, "username": None,
               "private_key_file": None}),
    case("salesforce-secret-space", "salesforce_org_info", "client secret with a space inside", {},
         "client_secret contains whitespace inside it", "input",
         conn={"username": None, "private_key_file": None, "client_secret": "two words"}),
    case("config-logout-url-scheme", "salesforce_saml_sso_config", "IdP logout URL with a javascript: scheme",
         {"name": "matrix", "idp_logout_url": "javascript:alert(1)"},
         "idp_logout_url must be an absolute http(s) URL", "input"),
    case("config-entity-id-not-url", "salesforce_saml_sso_config", "entity ID that is not a URL",
         {"name": "matrix", "entity_id": "matrix.my.salesforce.com"}, "entity_id must be an absolute http(s) URL",
         "input"),
    case("eca-callback-comma", "salesforce_external_client_app",
         "callback URL with a comma (Salesforce would store two URLs)",
         {"name": "matrix", "callback_urls": ["https://authentik.company/cb?a=1,2"]},
         "contains a comma; Salesforce splits callback URLs at commas", "input"),
    case("eca-callback-scheme", "salesforce_external_client_app", "callback URL that is not an http(s) URL",
         {"name": "matrix", "callback_urls": ["javascript:alert(1)"]},
         "callback_urls must be an absolute http(s) URL", "input"),
    case("eca-scopes-in-one", "salesforce_external_client_app", "two scopes in one list item",
         {"name": "matrix", "scopes": ["api,openid"]}, "is not one scope name", "input"),
    case("salesforce-url-credentials", "salesforce_org_info", "instance URL with a user and password in it", {},
         "instance_url must not carry a user name or password", "input",
         conn={"instance_url": "https://admin:hunter22@company.my.salesforce.com"}),
]

# Runs that must succeed: the TLS sandboxes' private CA given with ca_path.
CONTROLS = [
    case("authentik-ca-path", "certificate_keypair_info", "authentik over TLS with ca_path",
         {"name": "authentik Self-signed Certificate"}, None, "read"),
    case("salesforce-ca-path", "salesforce_org_info", "Salesforce over TLS with ca_path",
         {"profiles": ["Standard User"]}, None, "read"),
]

STAGES = {
    "input": "before any request",
    "tls": "at the TLS handshake",
    "lookup": "after reads, before any write",
    "read": "reads only",
}


def _cell(value, limit=None):
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


def _input(item):
    parts = ["%s=%s" % (key, _short(value)) for key, value in item["conn"].items()]
    parts += ["%s=%s" % (key, _short(value)) for key, value in item["shown"].items()]
    parts += ["environment %s %s" % (key, "unset" if value is None else "=" + value) for key, value in
              item["env"].items()]
    return ", ".join(parts) or "(connection only)"


def _short(value):
    if isinstance(value, str) and value.startswith("<<") and value.endswith(">>"):
        return "<" + value[2:-2] + ">"
    if value is None:
        return "(unset)"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def markdown():
    """docs/bad-inputs.md: the table, generated from CASES."""
    lines = [
        "# Bad inputs",
        "",
        "<!-- Generated by `python tests/bad_inputs/cases.py > docs/bad-inputs.md`; do not edit by hand. -->",
        "",
        "Every case below is run by `make bad-inputs` (a stage of `make test`): one module or role run with one bad",
        "input, against local authentik and Salesforce sandboxes served over TLS with a private CA. Each must fail",
        "with a message that contains the fragment shown, without a traceback and without any secret in its output;",
        "the sandboxes' request logs must show no write request at all (and no request at all for the cases",
        "refused before any request or at the TLS handshake). Module cases pass the sandboxes' CA as `ca_path`",
        "unless the case is about TLS. Role cases run on an integration the role has already converged; those",
        "marked (cold) use names under which nothing exists yet on either side, as on a first run, where the",
        "role's preflight must refuse the input before its first write.",
        "",
        "The table lives in `tests/bad_inputs/cases.py`; `<name>` stands for a file or text the test makes",
        "(`not_pem`: text that is not PEM, `expired_pem`: an expired certificate, `other_key`: a key that belongs",
        "to no certificate, `missing_file`: a path that does not exist).",
        "",
        "| # | module / role | bad input | given | refused | message contains |",
        "|---|---|---|---|---|---|",
    ]
    for number, item in enumerate(CASES, 1):
        lines.append("| %d | %s | %s | %s | %s | %s |" % (
            number, item["target"], _cell(item["what"]), _cell("`%s`" % _input(item), 100), STAGES[item["stage"]],
            _cell("`%s`" % item["expect"].replace("<<", "<").replace(">>", ">"))))
    lines += ["", "Controls (must succeed, reading only):", ""]
    for item in CONTROLS:
        lines.append("- %s: `%s` with `ca_path` set to the private CA." % (item["what"], item["target"]))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
