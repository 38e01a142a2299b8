#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: application_binding
short_description: Bind a group, user or policy to an authentik application
version_added: 0.1.0
description:
  - Create, update or delete the binding that decides who may use an application (and who sees it on
    the My applications page). An application without any binding is open to every user.
  - The binding is found by its application and exactly one of O(group), O(user) or O(policy). authentik
    itself accepts the same group twice on one application; this module finds the existing binding instead.
    Identical copies (which two runs at once, or a create whose answer was lost and that the server applied
    late, can leave behind) are removed, the one with the lowest id kept; bindings of the same subject that
    differ are refused rather than guessed between.
options:
  application:
    description: Slug of the application (letters, digits, C(-) and C(_); checked before any request).
    type: str
    required: true
  group:
    description: Name of the group to bind.
    type: str
  user:
    description: Username of the user to bind.
    type: str
  policy:
    description: Name of the policy to bind.
    type: str
  order:
    description: Evaluation order among the application's bindings. 0 when a binding is created without it.
    type: int
  negate:
    description: Negate the result of the binding.
    type: bool
  enabled:
    description: Whether the binding is evaluated.
    type: bool
  evaluation_timeout:
    description: Seconds after which a policy evaluation is aborted (the binding's C(timeout) in authentik's API).
    type: int
extends_documentation_fragment:
  - sso.authentik.authentik
  - sso.authentik.resource
  - sso.authentik.attributes
  - sso.authentik.attributes.authentik
author:
  - sso.authentik contributors (@sso-authentik)
"""

EXAMPLES = r"""
- name: Only the sales team may use Salesforce
  sso.authentik.application_binding:
    application: salesforce
    group: Sales
    order: 10
"""

RETURN = r"""
binding:
  description: The binding as authentik stores it (empty after a deletion).
  returned: always
  type: dict
  sample:
    pk: 0f4a2a7e-5e1c-4d36-bb8f-6c2a1d2f3e44
    target: 1b6d5f0c-2a4c-4c8d-8f2f-50d6b7a4c9e1
    group: 9d1c4a55-8c0e-4d7a-9a55-0b7b8f4a2c10
    order: 10
    negate: false
    enabled: true
    timeout: 30
"""

from ansible_collections.sso.authentik.plugins.module_utils._authentik import AuthentikResource
from ansible_collections.sso.authentik.plugins.module_utils._engine import EngineError, Field, Ref

APPLICATIONS = Ref("/core/applications/", "application", by="slug", item=True)
SUBJECTS = {
    "group": Ref("/core/groups/", "group"),
    "user": Ref("/core/users/", "user", by="username"),
    "policy": Ref("/policies/all/", "policy", search=True),  # no exact name filter on this endpoint
}


class ApplicationBinding(AuthentikResource):
    what = "binding of application"
    path = "/policies/bindings/"
    key = "application"
    result_key = "binding"
    fields = (
        Field("application", api="target", ref=APPLICATIONS, required=True, check="slug"),
        Field("group", ref=SUBJECTS["group"], check="identifier"),
        Field("user", ref=SUBJECTS["user"], check="identifier"),
        Field("policy", ref=SUBJECTS["policy"], check="identifier"),
        Field("order", type="int"),
        Field("negate", type="bool"),
        Field("enabled", type="bool"),
        Field("evaluation_timeout", api="timeout", type="int"),
    )
    required_one_of = (("group", "user", "policy"),)
    mutually_exclusive = (("group", "user", "policy"),)
    # What makes two bindings of one subject on one target the same binding.
    SETTINGS = ("order", "negate", "enabled", "timeout", "failure_result")

    def __init__(self):
        super().__init__()
        self.removed = 0  # identical copies deleted in this run

    def find(self):
        subject = next(option for option in SUBJECTS if self.params[option] is not None)
        target = self.resolve(APPLICATIONS, self.params["application"])
        ident = self.resolve(SUBJECTS[subject], self.params[subject])
        if target is None or ident is None:
            return None  # nothing can be bound yet; desired() says which one is missing
        found = [b for b in self.client.list(self.path, {"target": target}) if str(b.get(subject)) == str(ident)]
        if len({tuple(b.get(key) for key in self.SETTINGS) for b in found}) > 1:
            raise EngineError("application %r has %d bindings of %s %r; remove the duplicates first."
                              % (self.params["application"], len(found), subject, self.params[subject]))
        return self.keep_one(found)

    def keep_one(self, found):
        """Of identical bindings, keep the one with the lowest id - the same one whichever run looks - and delete the
        others (not in check mode)."""
        if not found:
            return None
        found = sorted(found, key=lambda binding: str(binding["pk"]))
        if not self.module.check_mode:
            for binding in found[1:]:
                self.client.delete(self.item_path(binding))  # a 404 (another run removed it first) is fine
                self.removed += 1
        return found[0]

    def create(self, payload):
        created = super().create(payload)
        # Two runs at once may both have created it: look again and keep one (each run keeps the same one).
        found = [b for b in self.client.list(self.path, {"target": payload["target"]})
                 if all(b.get(key) == created.get(key) for key in SUBJECTS) and
                 all(b.get(key) == created.get(key) for key in self.SETTINGS)]
        return self.keep_one(found) or created

    def reread(self, obj):
        fresh = self.client.get(self.item_path(obj), not_found_ok=True)
        if fresh is None:  # another run kept its own copy and removed this one meanwhile
            fresh = self.find()
        if fresh is None:
            raise EngineError("the binding of application %r was deleted while it was being made."
                              % self.params["application"])
        return fresh

    def reconcile(self):
        result = super().reconcile()
        if self.removed:
            result["changed"] = True
            self.warnings.append("removed %d identical duplicate binding(s) of application %r"
                                 % (self.removed, self.params["application"]))
        return result

    def complete_payload(self, payload, current):
        if current is None:
            payload.setdefault("order", 0)  # required by the API
        else:
            # The server validates a partial update as a whole binding: without target it answers 405, without
            # the subject 400.
            payload.setdefault("target", current["target"])
            for subject in SUBJECTS:
                if current.get(subject) is not None:
                    payload.setdefault(subject, current[subject])
        return payload


def main():
    ApplicationBinding().run()


if __name__ == "__main__":
    main()
