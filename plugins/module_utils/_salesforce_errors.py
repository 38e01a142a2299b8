# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error every Salesforce call raises, and how an answer's body is read without surprises.

Imported by every other ``_salesforce_*`` file; it imports none of them.
"""

from __future__ import annotations

import json

from ansible_collections.sso.authentik.plugins.module_utils._http import HttpError, error_page_words


class SalesforceError(HttpError):
    """An error with a message a person can act on (no secrets), and the HTTP status / error code if any.

    An EngineError, so the engine fails the module with ``msg`` (+ ``status``, ``error_code``), no traceback. A
    write whose answer was lost raises ``_http.WriteOutcomeUnknown`` instead (an HttpError, not a SalesforceError).
    """

    def __init__(self, message, status=None, code=None, body=None):
        super().__init__(message, status=status, code=code, body=body)
        self.message = message

    def fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``."""
        return dict(self.details, msg=self.message)


class InvalidSession(SalesforceError):
    """INVALID_SESSION_ID: the token expired or was revoked (between the session and its callers: one re-login)."""


def response_text(response):
    """The body as text; an unknown or wrong charset is read as UTF-8 with replacements, never an exception."""
    try:
        return response.text or ""
    except (LookupError, UnicodeError, TypeError):
        return (response.content or b"").decode("utf-8", "replace")


def response_json(response):
    """The body parsed as JSON; ValueError for anything that is not (a bad charset, a nesting bomb included)."""
    try:
        return json.loads(response_text(response))
    except (ValueError, RecursionError, TypeError):
        raise ValueError("not JSON") from None


def page_words(response):
    """What an error page says, in a few words (HTML stripped), for a message."""
    return error_page_words(response_text(response)) or response.reason or "no details"
