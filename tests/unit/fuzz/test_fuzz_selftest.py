# -*- coding: utf-8 -*-
"""The fuzz can fail: a deliberately broken module, with one defect per `defect` option, is caught every time."""

from __future__ import annotations

import sys
import types
from urllib.parse import quote

import pytest
import requests
from ansible.module_utils.basic import AnsibleModule
from fuzz_harness import AUTHENTIK_URL, COLLECTION, TOKEN, benign_answer, problems, run_module
from fuzz_strategies import answer_strategy
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

NAME = "_fuzz_broken"
BASE = {"url": AUTHENTIK_URL, "token": TOKEN, "name": "fuzz"}


def broken_main():
    module = AnsibleModule(argument_spec=dict(
        url=dict(type="str", required=True), token=dict(type="str", required=True, no_log=True),
        name=dict(type="str", required=True), defect=dict(type="str", default="none")), supports_check_mode=True)
    params = module.params
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + params["token"]
    base = params["url"] + "/api/v3/core/applications/"
    defect = params["defect"]
    if defect == "target":  # the identifier is put into the path as it is
        session.get(base + params["name"] + "/", allow_redirects=False)
        module.exit_json(changed=False)
    if defect == "write":  # check mode ignored
        session.post(base, json={"name": params["name"]})
        module.exit_json(changed=True)
    if defect == "secret":  # Ansible masks the token as given, not URL-encoded
        module.fail_json(msg="authentik refused %s" % quote(params["token"], safe=""))
    if defect == "catch-all":
        module.fail_json(msg="Unexpected error in %s: KeyError: 'pk'" % NAME)
    response = session.get(base, params={"name": params["name"], "page": 1}, allow_redirects=False)
    if defect == "sleep":  # a Retry-After believed as it is
        import time

        time.sleep(float(response.headers.get("Retry-After") or 3600))
    if defect == "redirect":  # followed by hand, with the session's Authorization header
        session.get(response.headers["Location"], allow_redirects=False)
        module.exit_json(changed=False)
    first = response.json()["results"][0]  # defect "none": trusts the shape of the answer
    module.exit_json(changed=False, pk=first["pk"])


@pytest.fixture
def broken_module():
    module = types.ModuleType(COLLECTION + ".plugins.modules." + NAME)
    module.main = broken_main
    sys.modules[module.__name__] = module
    yield NAME
    del sys.modules[module.__name__]


def healthy(request):
    return benign_answer(request, "existing")


def redirect_to_evil(request):
    from fuzz_harness import Answer

    if request.parts.hostname == "evil.test":
        return Answer.json({})
    return Answer(302, b"", {"Location": "https://evil.test/steal"})


@pytest.mark.parametrize("defect, answer, check_mode, expected", [
    ("none", healthy, False, None),
    ("target", healthy, True, "identifier changed the target"),
    ("write", healthy, True, "write in check mode: POST"),
    ("secret", healthy, False, "in the module's output"),
    ("catch-all", healthy, False, "engine catch-all"),
    ("redirect", redirect_to_evil, False, "sent to another host"),
    ("sleep", healthy, False, "slept 3600 s at once"),
])
def test_each_broken_promise_is_reported(broken_module, defect, answer, check_mode, expected):
    name = "x/../victim" if defect == "target" else "fuzz"
    run = run_module(broken_module, dict(BASE, name=name, defect=defect), answer, check_mode=check_mode)
    found = problems(run, identifiers=True)
    if expected is None:
        assert found == []
    else:
        assert any(expected in problem for problem in found), found


def test_hostile_answers_find_the_traceback(broken_module):
    """The answer fuzz itself, not a hand-picked answer, finds a module that trusts the answer's shape."""

    @settings(max_examples=50, deadline=None, derandomize=True, database=None, phases=[Phase.generate])
    @given(data=st.data())
    def fuzz(data):
        def answer(request):
            return data.draw(answer_strategy(request, benign_answer(request, "existing")))

        run = run_module(broken_module, BASE, answer)
        assert problems(run) == []

    with pytest.raises(AssertionError, match="uncaught exception"):
        fuzz()
