# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: every task result of a run, as JSON lines, into the file named by RELIABILITY_JSON_LOG.

ansible-core ships no JSON callback (ansible.posix.json is not installed offline); this one records what such a
callback would see: the task name, the event and the result handed to callbacks (no_log results already censored
by Ansible, everything else as the module returned it, invocation included). It runs next to the normal stdout
callback (ANSIBLE_CALLBACKS_ENABLED), so that the secrets audit reads both.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: reliability_json
type: aggregate
short_description: Task results as JSON lines (sso.authentik reliability tests only)
description: Appends one JSON object per task event to the file named by the environment variable RELIABILITY_JSON_LOG.
requirements: [enable it with ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "reliability_json"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("RELIABILITY_JSON_LOG")

    def _write(self, event, result=None, **extra):
        if not self._path:
            return
        record = {"event": event}
        if result is not None:
            record.update(task=result.task_name, host=result.host.get_name(), result=result.result)
        record.update(extra)
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=repr) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write("task_start", task=task.get_name())

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)

    def v2_runner_item_on_ok(self, result):
        self._write("item_ok", result)

    def v2_runner_item_on_failed(self, result):
        self._write("item_failed", result)

    def v2_runner_item_on_skipped(self, result):
        self._write("item_skipped", result)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._write("stats", summary={host: stats.summarize(host) for host in hosts})
