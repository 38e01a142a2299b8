# -*- coding: utf-8 -*-
"""The reconcile engine, against an in-memory store: what it sends, predicts and shows."""

from __future__ import annotations

import pytest
from ansible_collections.sso.authentik.plugins.module_utils._engine import MASK, EngineError, Field, Ref, Resource
from support.fakes import FakeModule


class Store:
    """A tiny API: objects by name, a log of writes, refs resolvable by name."""

    def __init__(self, objects=None, refs=None, drop=()):
        self.objects = {o["name"]: dict(o) for o in objects or []}
        self.refs = refs or {}
        self.writes = []
        self.drop = drop  # fields the "server" silently ignores

    def resolve(self, ref, value):
        return self.refs.get(value)

    def name_of(self, ref, ident):
        return {v: k for k, v in self.refs.items()}.get(ident, ident)


class Thing(Resource):
    what = "thing"
    result_key = "thing"
    fields = (
        Field("name", required=True),
        Field("title"),
        Field("tags", type="list", elements="str"),
        Field("flow", api="flow_id", ref=Ref("/flows/", "flow", by="slug")),
        Field("mode", values={"salesforce": "sfdc"}),
        Field("secret", secret=True),
        Field("size", type="int", create_only=True),
    )
    required_on_create = ("title",)

    def find(self):
        obj = self.client.objects.get(self.params["name"])
        return dict(obj) if obj else None

    def create(self, payload):
        self.client.writes.append(("POST", dict(payload)))
        stored = {k: v for k, v in payload.items() if k not in self.client.drop and k != "secret"}
        self.client.objects[payload["name"]] = stored
        return dict(stored)

    def update(self, current, payload):
        self.client.writes.append(("PATCH", dict(payload)))
        self.client.objects[current["name"]].update(
            {k: v for k, v in payload.items() if k not in self.client.drop and k != "secret"})

    def delete(self, current):
        self.client.writes.append(("DELETE", current["name"]))
        del self.client.objects[current["name"]]

    def reread(self, obj):
        return dict(self.client.objects[obj["name"]])


def run(store, check_mode=False, **params):
    thing = Thing()
    thing.module = FakeModule(check_mode)
    thing.params = dict({f.option: None for f in Thing.fields}, state="present", update_secrets="on_create")
    thing.params.update(params)
    thing.client = store
    return thing.reconcile(), thing


def test_create_sends_only_what_was_given_and_resolves_references():
    store = Store(refs={"default-flow": "uuid-1"})
    result, _thing = run(store, name="a", title="A", flow="default-flow", mode="salesforce")
    assert result["changed"] is True
    assert store.writes == [("POST", {"name": "a", "title": "A", "flow_id": "uuid-1", "mode": "sfdc"})]
    assert result["diff"] == {"before": {}, "after": {"name": "a", "title": "A", "flow": "default-flow",
                                                      "mode": "salesforce"}}
    assert result["thing"]["flow_id"] == "uuid-1"


def test_missing_create_option_is_refused_before_any_write():
    store = Store()
    with pytest.raises(EngineError, match="also give: title"):
        run(store, name="a")
    assert store.writes == []


def test_second_run_changes_nothing_and_writes_nothing():
    store = Store([{"name": "a", "title": "A", "tags": ["y", "x"], "mode": "sfdc", "friendly": None}])
    result, _thing = run(store, name="a", title="A", tags=["x", "y"], mode="salesforce")
    assert result["changed"] is False
    assert store.writes == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_update_patches_only_the_changed_field():
    store = Store([{"name": "a", "title": "A", "tags": ["x"]}])
    result, _thing = run(store, name="a", title="B", tags=["x"])
    assert store.writes == [("PATCH", {"title": "B"})]
    assert result["diff"] == {"before": {"name": "a", "title": "A", "tags": ["x"]},
                              "after": {"name": "a", "title": "B", "tags": ["x"]}}


def test_check_mode_predicts_without_writing():
    store = Store([{"name": "a", "title": "A"}])
    result, _thing = run(store, check_mode=True, name="a", title="B")
    assert result["changed"] is True and store.writes == []
    assert result["thing"]["title"] == "B"
    result, _thing = run(store, check_mode=True, name="new", title="N")
    assert result["changed"] is True and store.writes == [] and "new" not in store.objects


def test_check_mode_tolerates_a_reference_an_earlier_task_would_create():
    store = Store()
    result, thing = run(store, check_mode=True, name="a", title="A", flow="not-yet")
    assert result["changed"] is True and store.writes == []
    assert "not-yet" in thing.warnings[0]


def test_unknown_reference_fails_clearly_for_real():
    with pytest.raises(EngineError, match=r"flow 'nope' \(option flow\) does not exist"):
        run(Store(), name="a", title="A", flow="nope")


def test_secret_sent_on_create_masked_and_never_compared():
    store = Store()
    result, _thing = run(store, name="a", title="A", secret="s3cr3t")
    assert store.writes[0][1]["secret"] == "s3cr3t"
    assert result["diff"]["after"]["secret"] == MASK
    assert "s3cr3t" not in repr(result)
    store.writes.clear()
    result, _thing = run(store, name="a", title="A", secret="other")
    assert result["changed"] is False and store.writes == []


def test_update_secrets_always_sends_the_secret():
    store = Store([{"name": "a", "title": "A"}])
    result, _thing = run(store, name="a", secret="s3cr3t", update_secrets="always")
    assert result["changed"] is True
    assert store.writes == [("PATCH", {"secret": "s3cr3t"})]
    assert result["diff"]["after"]["secret"] == MASK and "s3cr3t" not in repr(result)


def test_create_only_difference_warns_and_is_not_sent():
    store = Store([{"name": "a", "title": "A", "size": 1}])
    result, thing = run(store, name="a", size=2)
    assert result["changed"] is False and store.writes == []
    assert "cannot be changed in place" in thing.warnings[0]


def test_a_field_the_server_drops_is_an_error():
    store = Store([{"name": "a", "title": "A"}], drop=("title",))
    with pytest.raises(EngineError, match="did not store it"):
        run(store, name="a", title="B")


def test_absent_deletes_then_is_a_no_op():
    store = Store([{"name": "a", "title": "A"}])
    result, _thing = run(store, name="a", state="absent")
    assert result["changed"] is True and store.writes == [("DELETE", "a")]
    assert result["diff"]["before"]["title"] == "A" and result["diff"]["after"] == {}
    result, _thing = run(store, name="a", state="absent")
    assert result["changed"] is False and len(store.writes) == 1


def test_check_mode_absent_does_not_delete():
    store = Store([{"name": "a", "title": "A"}])
    result, _thing = run(store, check_mode=True, name="a", state="absent")
    assert result["changed"] is True and store.writes == [] and "a" in store.objects


class Conflicting(Thing):
    """Another run creates the object between our lookup and our create."""

    def create(self, payload):
        self.client.objects[payload["name"]] = {"name": payload["name"], "title": "theirs"}
        raise EngineError("name already exists", status=400)

    def is_conflict(self, error):
        return True


def test_create_conflict_converges_on_the_object_made_meanwhile():
    thing = Conflicting()
    thing.module = FakeModule()
    thing.params = dict({f.option: None for f in Thing.fields}, state="present", update_secrets="on_create",
                        name="a", title="mine")
    thing.client = Store()
    result = thing.reconcile()
    assert result["changed"] is True
    assert thing.client.writes == [("PATCH", {"title": "mine"})]


@pytest.mark.parametrize("field, current, desired, equal", [
    (Field("s"), None, "", True),
    (Field("s"), "a", "a", True),
    (Field("s"), "a", "A", False),
    (Field("l", type="list"), ["a", "b"], ["b", "a"], True),
    (Field("l", type="list"), ["a"], ["a", "b"], False),
    (Field("l", type="list"), [], None, True),
    (Field("d", type="dict"), {"a": 1}, {"a": 1}, True),
    (Field("d", type="dict"), {}, {"a": 1}, False),
    (Field("b", type="bool"), False, False, True),
    (Field("b", type="bool"), None, False, False),
    (Field("x", compare=lambda c, d: c.lower() == d.lower()), "AB", "ab", True),
])
def test_compare_rules(field, current, desired, equal):
    assert field.equal(current, desired) is equal


def test_renamed_field_follows_the_server_version():
    field = Field("issuer", renamed={(2026, 8): "issuer_override"})
    assert field.api_name((2025, 12, 4)) == "issuer"
    assert field.api_name((2026, 8, 5)) == "issuer_override"
    assert field.api_name((2026, 11, 0)) == "issuer_override"


def test_managed_ids_are_looked_up_by_managed():
    ref = Ref("/propertymappings/all/", "mapping", managed_prefix="goauthentik.io/")
    assert ref.filters("goauthentik.io/providers/saml/email") == {"managed": "goauthentik.io/providers/saml/email"}
    assert ref.filters("My mapping") == {"name": "My mapping"}


def test_argument_spec_is_generated_from_the_fields():
    spec = Thing().argument_spec()
    assert spec["secret"]["no_log"] is True
    assert spec["tags"] == {"type": "list", "elements": "str"}
    assert spec["state"]["default"] == "present"
    assert spec["update_secrets"]["choices"] == ["on_create", "always"]


# -- verify: dropped or stored differently ----------------------------------------------------------------------

class Normalising(Store):
    """A server that keeps its own spelling of `title` (as authentik trims text)."""

    def __init__(self, objects=None, spell=str.upper):
        super().__init__(objects)
        self.spell = spell


class NormalisingThing(Thing):
    def update(self, current, payload):
        super().update(current, payload)
        if "title" in payload:
            self.client.objects[current["name"]]["title"] = self.client.spell(payload["title"])


def test_a_field_the_server_drops_on_update_is_called_unsupported():
    store = Store([{"name": "a", "title": "old"}], drop=("title",))
    with pytest.raises(EngineError, match="accepted title but did not store it .* may not support it"):
        run(store, name="a", title="new")


def test_a_value_the_server_stores_differently_is_not_called_unsupported():
    store = Normalising([{"name": "a", "title": "old"}])
    thing = NormalisingThing()
    thing.module = FakeModule()
    thing.params = dict({f.option: None for f in Thing.fields}, state="present", update_secrets="on_create",
                        name="a", title="new")
    thing.client = store
    with pytest.raises(EngineError) as error:
        thing.reconcile()
    assert error.value.msg.startswith("The server stored title differently: 'NEW' (sent 'new')")
    assert "may not support" not in error.value.msg


# -- Field checks run on every given value -------------------------------------------------------------------------

@pytest.mark.parametrize("check, value", [
    ("slug", "a/../b"), ("slug", "a b"), ("slug", "a?b"), ("slug", "a#b"), ("slug", "a%2f"), ("slug", ".."),
    ("identifier", " a"), ("identifier", "a\x00"), ("identifier", ""), ("http_url", "ftp://x"),
    ("http_url", "javascript:alert(1)"),
])
def test_field_checks_refuse(check, value):
    with pytest.raises(EngineError) as error:
        Field("opt", check=check).validate(value)
    assert error.value.msg.startswith("opt")


def test_field_checks_every_element_and_let_an_empty_reference_unset():
    with pytest.raises(EngineError, match="opt must be a slug"):
        Field("opt", type="list", check="slug").validate(["ok", "not/ok"])
    Field("opt", ref=Ref("/x/", "x"), check="slug").validate("")  # "" unsets a reference
    Field("opt", check="slug").validate(None)
