"""Waiting for a state, never for a time: what the tests use before they assert on a sandbox's log or state.

A request that a client gave up on (a timeout, a dropped connection) may still be in the sandbox: sleeping
through a delay rule, about to be applied and logged. Reading the request log or the state at that moment
sees an unfinished picture, and how often that happens depends on how busy the machine is. So:

- ``wait_until(probe, ...)``: call ``probe()`` until it returns something truthy, and return that; after a
  bounded deadline fail with what it last returned. For any state a test is about to assert on.
- ``settled(fetch)``: wait until a sandbox has no pending request (``GET /_sandbox/pending`` is empty) - every
  request it received has been answered, its log entry and its effect on the state are final.

``fetch(route)`` is whatever the caller uses to call a control API: it takes "pending" (or "requests") and
returns the decoded JSON, so that plain HTTP, TLS with a private CA, or ansible's uri all fit.
"""

from __future__ import annotations

import time

# Far above what any request of the tests takes on a busy 2-core machine; only a hang reaches it.
DEADLINE = 120.0
INTERVAL = 0.05


class WaitTimeout(AssertionError):
    pass


def wait_until(probe, what, deadline=DEADLINE, interval=INTERVAL):
    """``probe()``'s first truthy value; WaitTimeout (an AssertionError) naming `what` after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise WaitTimeout("still not %s after %ss (last: %r)" % (what, deadline, value))
        time.sleep(interval)


def settled(fetch, name="sandbox", deadline=DEADLINE):
    """Wait until the sandbox has answered every request it received (none pending)."""
    last = []

    def probe():
        last[:] = fetch("pending")
        return not last

    try:
        wait_until(probe, "settled", deadline)
    except WaitTimeout:
        raise WaitTimeout("%s still has requests pending after %ss: %s" % (name, deadline, last)) from None


def settled_requests(fetch, name="sandbox", deadline=DEADLINE):
    """The request log once nothing is pending any more: every entry final."""
    settled(fetch, name, deadline)
    return fetch("requests")
