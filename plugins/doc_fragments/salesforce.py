# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every Salesforce module (module_utils/_salesforce_login.py: salesforce_argument_spec).
    DOCUMENTATION = r"""
options:
  instance_url:
    description:
      - The org's My Domain URL, for example V(https://acme.my.salesforce.com) (production),
        V(https://acme--uat.sandbox.my.salesforce.com) (sandbox) or V(https://acme-dev-ed.develop.my.salesforce.com)
        (Developer Edition).
      - Every API call and the OAuth token request go to this URL. V(https://login.salesforce.com) and
        V(https://test.salesforce.com) are refused here; to sign the JWT for them, set O(jwt_audience). A URL
        with a user name or password in it is refused.
      - Plain V(http://) to a host other than this machine works, with a warning that the token, secret or
        signed JWT travels unencrypted.
      - If not set, the value of the E(SALESFORCE_INSTANCE_URL) environment variable is used.
    type: str
    required: true
  access_token:
    description:
      - An OAuth access token (session id) of the org, for example from M(sso.authentik.salesforce_login) or
        C(sf org display --verbose).
      - Used as given (a trailing newline, as a vault block scalar leaves, is dropped; whitespace inside, a
        C(Bearer ) prefix, control or non-ASCII characters are refused without showing the token) and first among
        the logins (see the notes). Given alone, it cannot be renewed, so the module
        fails with a clear message once it has expired; given with the options of another login (a private key or
        O(client_secret)), the module logs in with those when Salesforce rejects the token.
      - If not set, the value of the E(SALESFORCE_ACCESS_TOKEN) environment variable is used.
    type: str
  client_id:
    description:
      - Consumer key of the External Client App (or connected app) used to log in, with the JWT bearer flow
        (O(username) and O(private_key) or O(private_key_file)) or the client credentials flow (O(client_secret)).
      - If not set, the value of the E(SALESFORCE_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Consumer secret of the app, for the client credentials flow. The app needs the flow enabled and a run-as
        user; this flow works on the My Domain URL only. Checked like O(access_token).
      - If not set, the value of the E(SALESFORCE_CLIENT_SECRET) environment variable is used.
    type: str
  username:
    description:
      - Salesforce username to log in as with the JWT bearer flow (the C(sub) claim). The app must pre-authorize
        the user (admin-approved profile or permission set).
      - If not set, the value of the E(SALESFORCE_USERNAME) environment variable is used.
    type: str
  private_key:
    description:
      - Unencrypted RSA private key, PEM text, that signs the JWT of the JWT bearer flow. The app holds the
        matching certificate.
      - Mutually exclusive with O(private_key_file).
      - If not set, the value of the E(SALESFORCE_PRIVATE_KEY) environment variable is used.
    type: str
  private_key_file:
    description:
      - Path on the controller of an unencrypted RSA private key in PEM format, for the JWT bearer flow.
      - Mutually exclusive with O(private_key).
      - If not set, the value of the E(SALESFORCE_PRIVATE_KEY_FILE) environment variable is used.
    type: path
  jwt_audience:
    description:
      - The C(aud) claim of the JWT bearer flow.
      - Defaults to O(instance_url), which External Client Apps expect. Set V(https://login.salesforce.com) or
        V(https://test.salesforce.com) (sandboxes) only for an app that wants those.
    type: str
  api_version:
    description:
      - Salesforce API version to use, for example V(63.0).
      - By default the newest version the org offers (from C(GET /services/data/)). Versions older than V(60.0)
        are refused.
      - If not set, the value of the E(SALESFORCE_API_VERSION) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turn off only for a test server.
      - If not set, the value of the E(SALESFORCE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - File or directory of CA certificates to verify the server's certificate with, instead of the default ones.
      - If not set, the value of the E(SALESFORCE_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the server.
      - If not set, the value of the E(SALESFORCE_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is tried again after a connection error, HTTP 429 (honouring C(Retry-After)),
        502, 503, 504 or Salesforce's concurrent request limit, with exponential backoff and jitter. A request
        that may already have been applied (a create whose answer was lost) is not repeated.
      - The org's daily API request limit (C(REQUEST_LIMIT_EXCEEDED) C(TotalRequests)) is never retried.
      - If not set, the value of the E(SALESFORCE_RETRIES) environment variable is used.
    type: int
    default: 4
notes:
  - "Login: the first complete set of options wins: O(access_token); then the JWT bearer flow (O(client_id),
    O(username) and O(private_key) or O(private_key_file)); then the client credentials flow (O(client_id) and
    O(client_secret)). Inputs are checked before any request is sent."
  - The token request goes to C(<instance_url>/services/oauth2/token). When the session expires during a run,
    the module logs in once more (with O(access_token), only when the options of another login are given too).
  - A create whose answer is lost (dropped connection, timeout, HTTP 502/504, C(UNKNOWN_EXCEPTION)) is not sent
    again blindly - the module reads the component first and creates it only if it does not exist.
  - Redirects - the token request, every Metadata API (SOAP) call and every write are never redirected (their
    body carries the secret, the signed JWT or the session id); the module fails with the address the redirect
    pointed to. A REST read may follow one, without the access token when it leads to another host.
  - Secrets (the access token given or obtained, the client secret, the private key and the signed JWT) are
    masked in every message, warning and result, in every form (stripped, quoted, URL-encoded).
  - Every API call counts against the org's daily API request limit; the modules read before they write and send
    no write when nothing changed.
  - The module talks to the Salesforce API from the host it runs on; run it on the controller
    (C(hosts=localhost) or C(delegate_to=localhost)).
requirements:
  - requests
  - cryptography (for the JWT bearer login)
"""
