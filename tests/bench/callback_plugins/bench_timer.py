# Copyright: sso.authentik contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench-only callback: writes every task result (action, status, seconds, loop items) to $BENCH_TIMER_FILE.

With $BENCH_SANDBOXES (name=url,...) it also attributes the sandboxes' logged requests to the task that sent them
(it reads the request logs before and after each task, which costs time: not for timed runs).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Task timings for make bench
description: Records each task's action, status, duration and loop item count as JSON lines in $BENCH_TIMER_FILE.
requirements: [enabled in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("BENCH_TIMER_FILE")
        self.started = {}
        self.items = {}
        self.sandboxes = dict(item.split("=", 1) for item in os.environ.get("BENCH_SANDBOXES", "").split(",") if item)
        self.marks = {}

    def _last_seq(self):
        """{sandbox: highest logged seq}."""
        marks = {}
        for name, url in self.sandboxes.items():
            with urllib.request.urlopen(url + "/_sandbox/requests", timeout=30) as response:
                entries = json.load(response)
            marks[name] = max([entry["seq"] for entry in entries] or [0])
        return marks

    def _requests_since(self, marks):
        sent = {}
        for name, url in self.sandboxes.items():
            with urllib.request.urlopen(url + "/_sandbox/requests", timeout=30) as response:
                entries = json.load(response)
            sent[name] = [{"method": entry["method"], "path": entry["path"], "write": entry["write"],
                           "query": {key: value for key, value in (entry.get("query") or {}).items()
                                     if key not in ("page", "page_size")},
                           "operation": entry.get("operation"), "api": entry.get("api")}
                          for entry in entries if entry["seq"] > marks.get(name, 0)]
        return sent

    def _write(self, record):
        if self.path:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self.sandboxes:
            self.marks[task._uuid] = self._last_seq()
        self.started[task._uuid] = time.monotonic()
        self.items[task._uuid] = 0

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _item(self, result):
        self.items[result._task._uuid] = self.items.get(result._task._uuid, 0) + 1

    v2_runner_item_on_ok = v2_runner_item_on_failed = _item

    def _done(self, result, status):
        task = result._task
        start = self.started.get(task._uuid, time.monotonic())
        record = {"task": task.get_name(), "action": task.action, "status": status,
                  "changed": bool(result._result.get("changed")), "items": self.items.get(task._uuid, 0),
                  "seconds": round(time.monotonic() - start, 4)}
        if self.sandboxes:
            record["requests"] = self._requests_since(self.marks.get(task._uuid, {}))
        self._write(record)

    def v2_runner_on_ok(self, result):
        self._done(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._done(result, "unreachable")
