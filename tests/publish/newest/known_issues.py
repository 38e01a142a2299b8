"""pytest plugin of the unit tests on the newest supported ansible-core (`make publish`): its known failures.

On Python 3.12 and later (which ansible-core 2.20 and later require) the syslog module refuses a message with a
NUL character, and AnsibleModule logs the module's invocation to syslog before the module's own checks run. A
NUL in a name or slug option is still refused before any request, but with AnsibleModule's "Failed to log to
syslog (embedded null character)" rather than a message that names the option, which these tests require. The
changelog's known issues say so.

Each case below is marked as a strict expected failure: the run fails if one of them passes (remove it here
then) or is no longer collected, and every other test must pass as usual.
"""

import sys

import pytest

# (test file, test function): the number of its NUL cases.
KNOWN = {
    ("test_authentik_modules.py", "test_slug_options_refuse_path_characters_before_any_request"): 7,
    ("test_authentik_modules.py", "test_names_with_control_characters_or_outer_whitespace_are_refused"): 7,
}
REASON = "Python >= 3.12: syslog refuses the NUL before the module names the option (known issue)"


def _key(item):
    return (item.path.name, item.name.split("[", 1)[0])


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    if sys.version_info < (3, 12):
        return
    found = {}
    for item in items:
        if _key(item) in KNOWN and "\\x00" in item.nodeid:
            found[_key(item)] = found.get(_key(item), 0) + 1
            item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=REASON))
    if found != KNOWN:
        raise pytest.UsageError("known issues of the newest ansible-core: expected %s NUL cases, collected %s"
                                % (KNOWN, found))
