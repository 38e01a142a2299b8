# -*- coding: utf-8 -*-
"""Fuzz: every module with one hostile option, and against a server that answers hostile things.

Each run must end with one JSON result (exit_json / fail_json with a sentence), never an exception escaping
main() or the engine's "Unexpected error" catch-all; no secret in any form in its output; no secret sent to a
host it does not belong to; and in check mode no write request at all. See fuzz_harness.problems for the list.

Deterministic (derandomize): the same examples on every run. FUZZ_EXAMPLES sets the examples per test (default
20). To list every distinct defect rather than stop at the first per test: FUZZ_HUNT=/tmp/hunt.jsonl
FUZZ_EXAMPLES=300 pytest tests/unit/fuzz (the problems are appended to that file, the tests do not fail).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fuzz_harness import (ALLOWED_SECRETS, BASE_ARGS, COLLECTION_MODULES_DIR, MARKER, OWN_HOSTS, SECRETS,
                          SESSION_TOKEN, argument_spec, benign_answer, problems, run_module)
from fuzz_strategies import answer_strategy, hostile_value
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20")), deadline=None, derandomize=True,
    database=None, print_blob=False,
    # No shrinking unless asked (FUZZ_SHRINK=1): a failing example is readable as drawn, and shrinking one costs
    # minutes on a busy machine.
    phases=list(Phase) if os.environ.get("FUZZ_SHRINK") else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture])
FUZZ = settings.get_profile("fuzz")

MODULES = sorted(path.stem for path in Path(COLLECTION_MODULES_DIR).glob("*.py") if not path.stem.startswith("_"))


def test_every_module_has_valid_arguments():
    """A module without a base argument set would escape the fuzz."""
    assert sorted(BASE_ARGS) == MODULES


HUNT = os.environ.get("FUZZ_HUNT")
MAX_DRAWN_ANSWERS = 10


def describe_answer(answer):
    if isinstance(answer, BaseException):
        return "raises %s" % type(answer).__name__
    return "%d %s %r" % (answer.status, {k: v[:80] for k, v in answer.headers.items()}, answer.body[:300])


def judge(found, run, what):
    """Fail with the problems of a run, or in hunt mode append them to FUZZ_HUNT and go on."""
    if HUNT:
        if found:
            answers = getattr(run, "answers", None) or [request.describe() for request in run.requests]
            with open(HUNT, "a") as handle:
                record = {"test": what, "problems": found, "requests": answers[-5:]}
                handle.write(json.dumps(record, default=repr) + "\n")
        return
    assert found == [], "%s: %s" % (what, found)


# The options naming the host a module's own secrets go to (the authentik URL, the org's My Domain URL).
CONNECTION_URLS = ("url", "instance_url")


def secrets_of(module):
    """The secrets a module knows: the Salesforce session id is one only for the modules that log in to get it."""
    return SECRETS if module.startswith("salesforce_") else tuple(s for s in SECRETS if s != SESSION_TOKEN)


def files_written(module, tmpdir):
    """An _info module changes nothing, not even a file in the directory it runs in (in check mode or not)."""
    written = sorted(path.name for path in tmpdir.iterdir()) if module.endswith("_info") else []
    return ["file written by an _info module: %s" % written] if written else []


@functools.lru_cache(maxsize=None)
def spec_of(module):
    return argument_spec(module)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("world", ["empty", "existing"])
def test_valid_arguments_against_a_healthy_server(module, world, tmp_path):
    """The starting point of the fuzz: valid arguments reach the end of the module, in check mode."""
    for args in BASE_ARGS[module]:
        run = run_module(module, args, lambda request: benign_answer(request, world), check_mode=True,
                         tmpdir=tmp_path)
        assert problems(run, secrets=secrets_of(module), allowed=ALLOWED_SECRETS.get(module)) == []
        if world == "existing" or not module.endswith("_info"):  # an _info module needs its object to exist
            assert not (run.result or {}).get("failed"), (run.result or {}).get("msg")


@pytest.mark.parametrize("module", MODULES)
@FUZZ
@given(data=st.data())
def test_one_hostile_option(module, data, tmp_path_factory):
    """Valid arguments with one option replaced by a hostile value, in check mode, against a healthy server."""
    spec = spec_of(module)
    args = dict(data.draw(st.sampled_from(BASE_ARGS[module]), label="base arguments"))
    option = data.draw(st.sampled_from(sorted(spec)), label="option")
    secret = bool(spec[option].get("no_log"))
    value = data.draw(hostile_value(spec[option], secret=secret), label="value of " + option)
    args[option] = value
    world = data.draw(st.sampled_from(["empty", "existing"]), label="world")
    tmpdir = tmp_path_factory.mktemp("run")
    run = run_module(module, args, lambda request: benign_answer(request, world), check_mode=True, tmpdir=tmpdir)
    secrets = secrets_of(module) + ((value,) if secret and isinstance(value, str) and MARKER in value else ())
    hosts = OWN_HOSTS
    if option in CONNECTION_URLS and isinstance(value, str):
        hosts = OWN_HOSTS | {urlsplit(value).hostname}  # the host a user names is where its secrets go, by definition
    found = problems(run, secrets=secrets, allowed=ALLOWED_SECRETS.get(module), identifiers=True,
                     hosts_of_secrets=hosts)
    found.extend(files_written(module, tmpdir))
    judge(found, run, "%s with %s=%r" % (module, option, value if not secret else "<secret>"))


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize("module", MODULES)
@FUZZ
@given(data=st.data())
def test_hostile_answers(module, check_mode, data, tmp_path_factory):
    """Valid arguments, and a server whose every answer may be mutated or hostile (shape, status, headers,
    Retry-After, redirects, XML, errors echoing the request, network failures)."""
    args = data.draw(st.sampled_from(BASE_ARGS[module]), label="base arguments")
    world = data.draw(st.sampled_from(["empty", "existing"]), label="world")

    drawn = []

    def answer(request):
        if len(drawn) >= MAX_DRAWN_ANSWERS:  # a long run (retries, pages): the rest of it is answered plainly
            return benign_answer(request, world)
        given = data.draw(answer_strategy(request, benign_answer(request, world)), label="answer to "
                          + request.describe()[:120])
        drawn.append("%s -> %s" % (request.describe()[:120], describe_answer(given)))
        return given

    tmpdir = tmp_path_factory.mktemp("run")
    run = run_module(module, args, answer, check_mode=check_mode, tmpdir=tmpdir)
    run.answers = drawn
    found = problems(run, secrets=secrets_of(module), allowed=ALLOWED_SECRETS.get(module))
    found.extend(files_written(module, tmpdir))
    judge(found, run, "%s (%s) answers" % (module, "check" if check_mode else "apply"))
