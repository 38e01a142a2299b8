"""`make bench`: what the collection costs, measured on the local sandboxes in one run; writes docs/benchmarks.md.

    python tests/bench/bench.py --collections DIR [--sandbox-dir DIR] [--docs DIR] [--repeat 3] [--cold-repeat 1]
                                [--scale 1,10,50]

DIR is the folder holding ansible_collections/sso/authentik (a build copy). The scenarios:

  (a) the full role, cold (both sandboxes reset): SAML, OAuth source, SCIM, an access group, the JIT preview
  (b) the full role again, nothing to change (run --repeat times)
  (c) the floor: one ansible.builtin.ping task per task result of (b) (a loop counts once per item), and the
      stricter floor of one ping per module run of (b) (--repeat times each, interleaved with (b))
  (d) the SAML part written with ansible.builtin.uri (tests/bench/uri_saml.yml), cold and again, beside the role
      with the same SAML-only variables, cold and again (--cold-repeat times each)
  (e) the SAML part for N applications in one run (tests/bench/scale.yml), cold and again, for each N of --scale

For each run: wall time, tasks, module runs, HTTP requests by method and API (from the sandboxes' request logs),
writes, Salesforce API calls (REST, SOAP and SCIM calls, which count against the org's daily limit) and logins.
One extra run of (b) attributes every request to the task that sent it (not timed). The sandboxes are started in
--sandbox-dir and stopped at the end. Results: docs/benchmarks.md, docs/benchmarks.png, docs/benchmarks.json.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests"))  # tests/support: sandboxes and playbook runs shared with the test suites

from support import playbooks, sandboxes as launcher  # noqa: E402
CONTROLLER_ACTIONS = {"include_tasks", "import_tasks", "include_role", "import_role", "set_fact", "assert", "debug",
                      "validate_argument_spec", "meta", "fail", "include_vars"}
FULL_ROLE = {"salesforce_sso_preview_user": "jdoe", "salesforce_sso_access_groups": ["authentik Admins"],
             "salesforce_sso_oauth_source": True, "salesforce_sso_scim": True}
SAML_ROLE = {"salesforce_sso_oauth_source": False, "salesforce_sso_scim": False}

# What each task of the full role may read on a rerun (b): managed objects, references, version checks, and reads
# beyond those, with the reason. The sum is the bound of the target; the bench compares it with the log.
EXPECTED_B = {
    "Log in to Salesforce once for the whole run": (0, 0, 1, 0, "the login; the API version discovery"),
    "Read the org (id, My Domain) and resolve the JIT profile (name or id) and the client credentials user": (
        0, 2, 0, 0, "the profile, the client credentials user (org id from the login)"),
    "Read authentik's version and licence, and look up the flows, groups and user the run refers to": (
        0, 4, 1, 1, "2 flows, the group, the user to preview; the version; its licence summary"),
    "SAML property mappings for Just-in-Time provisioning": (5, 0, 0, 0, "the five mappings"),
    "Read the signing certificate Salesforce must trust": (1, 0, 0, 1, "the key pair; its PEM (a second endpoint)"),
    "Enable SAML single sign-on in the org": (1, 0, 0, 0, "SecuritySettings"),
    "SAML single sign-on configuration, Just-in-Time provisioning": (1, 0, 0, 0, "SamlSsoConfig"),
    "SAML provider, made with the ACS URL that Salesforce reports": (
        1, 9, 1, 0, "the provider; 2 flows, the certificate, the NameID mapping, 5 mappings; the version"),
    "External Client App for authentik (openid + api, PKCE, client credentials)": (
        5, 0, 0, 0, "its five Metadata API components"),
    "OpenID Connect source with the app's consumer key and secret": (1, 2, 0, 0, "the source; 2 flows"),
    "SCIM property mappings (profile entitlement, userName)": (2, 0, 0, 0, "the two mappings"),
    "SCIM provider in OAuth mode (client credentials through the Salesforce source)": (
        1, 5, 1, 0, "the provider; the OAuth source, 4 mappings; the version"),
    "Application": (1, 2, 0, 0, "the application; 2 providers"),
    "Who may use it": (1, 2, 0, 0, "the bindings of the application; the application, the group"),
    "Compare authentik with Salesforce": (
        0, 0, 0, 5, "cross-check: provider, metadata, PEM, preview (authentik); SamlSsoConfig (Salesforce)"),
}


# -- sandboxes ----------------------------------------------------------------------------------------------------

class Sandboxes(launcher.SandboxSet):
    """The sandboxes, licensed (SCIM in OAuth mode); a cold run starts from reset ones."""

    def __init__(self, directory):
        super().__init__(directory, enterprise=True)

    def reset(self, consumer_secret_readable=True):
        # The sandbox org lets the Metadata API read the External Client App's consumer secret (as `make demo`).
        super().reset(consumer_secret_readable=consumer_secret_readable)


# -- runs ---------------------------------------------------------------------------------------------------------

class Runner:
    def __init__(self, collections, sandboxes, work):
        self.collections = collections
        self.sandboxes = sandboxes
        self.work = Path(work)
        self.count = 0

    def environment(self, attribute=False):
        env = playbooks.clean_env(self.sandboxes.env)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(self.collections),
                   ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="bench_timer",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   PATH=str(playbooks.BIN) + os.pathsep + env.get("PATH", ""))
        if attribute:
            env["BENCH_SANDBOXES"] = "authentik=%s,salesforce=%s" % (
                self.sandboxes.authentik, self.sandboxes.salesforce)
        return env

    def run(self, scenario, playbook, extra_vars=None, cold=False, attribute=False):
        """One ansible-playbook run; returns its measurements (and fails the bench if the playbook failed)."""
        self.count += 1
        if cold:
            self.sandboxes.reset()
        self.sandboxes.clear_logs()
        timer = self.work / ("timer-%d.jsonl" % self.count)
        extra = playbooks.write_vars(self.work / ("vars-%d.json" % self.count), extra_vars or {})
        env = self.environment(attribute)
        env["BENCH_TIMER_FILE"] = str(timer)
        started, cpu_before = time.perf_counter(), children_cpu()
        process = playbooks.run(playbook, "-e", extra, env=env, cwd=self.work, timeout=3600)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
        if process.rc != 0:
            raise SystemExit("bench: %s failed:\n%s" % (scenario, process.output[-5000:]))
        records = [json.loads(line) for line in timer.read_text().splitlines()] if timer.exists() else []
        authentik_log, salesforce_log = self.sandboxes.logs()
        result = measure(records, authentik_log, salesforce_log)
        result.update(scenario=scenario, wall=round(wall, 3), cpu=round(cpu, 3), cold=cold)
        if attribute:
            result["records"] = records
        print("bench: %-31s %6.2f s (CPU %5.2f s) %3d tasks %3d module runs %3d requests %d writes" % (
            scenario, wall, cpu, result["tasks"], result["module_runs"], result["requests"], result["writes"]),
            flush=True)
        return result

    def floor(self, scenario, pings):
        playbook = self.work / ("ping-%d.yml" % pings)
        tasks = "".join("    - name: Ping %d\n      ansible.builtin.ping:\n" % index for index in range(pings))
        playbook.write_text("---\n- name: Floor\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
                            "  tasks:\n" + tasks)
        return self.run(scenario, playbook)


def children_cpu():
    """CPU seconds (user + system) of every finished child process and its descendants: the controller's work,
    much less disturbed than wall time by other load on the machine (the sandboxes are not children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def area(path):
    """The API a request belongs to: /api/v3/providers/saml/7/ -> providers/saml."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["api", "v3"]:
        return "/".join(parts[2:4])
    return "/".join(parts[:2])


def measure(records, authentik_log, salesforce_log):
    executed = [record for record in records if record["status"] != "skipped"]
    module_runs = sum(max(record["items"], 1) for record in executed
                      if record["action"].rsplit(".", 1)[-1] not in CONTROLLER_ACTIONS)
    results = sum(max(record["items"], 1) for record in executed)
    authentik = Counter("%s %s" % (entry["method"], area(entry["path"])) for entry in authentik_log)
    salesforce = Counter("%s %s" % (entry["api"], entry.get("operation") or entry["method"])
                         for entry in salesforce_log)
    api_calls = sum(1 for entry in salesforce_log if entry["api"] in ("rest", "soap", "scim")
                    and entry.get("operation") != "versions")
    logins = sum(1 for entry in salesforce_log if entry["api"] == "oauth" and entry["path"].endswith("/token"))
    writes = [entry for entry in authentik_log + salesforce_log if entry["write"]]
    return {
        "tasks": len(executed), "module_runs": module_runs, "results": results,
        "requests": len(authentik_log) + len(salesforce_log),
        "authentik_requests": len(authentik_log), "salesforce_requests": len(salesforce_log),
        "authentik_by_method": dict(Counter(entry["method"] for entry in authentik_log)),
        "authentik_by_api": dict(sorted(authentik.items())), "salesforce_by_api": dict(sorted(salesforce.items())),
        "writes": len(writes), "salesforce_api_calls": api_calls, "logins": logins,
    }


# -- the report ---------------------------------------------------------------------------------------------------

def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    ansible = subprocess.run([str(playbooks.tool("ansible")), "--version"], capture_output=True,
                             text=True, check=True).stdout.splitlines()[0]
    return {"cpu": model or "unknown", "cores": os.cpu_count(), "python": platform.python_version(),
            "ansible_core": re.sub(r"^ansible \[core (.*)\]$", r"\1", ansible), "system": platform.platform(),
            "load_average": [round(value, 2) for value in os.getloadavg()]}


def revision():
    """This repository's commit, and whether the code measured (plugins/, roles/) has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO)] + list(args), capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "plugins", "roles")
    return commit + (" with uncommitted changes to plugins/ or roles/" if dirty else "")


def median(runs, key="wall"):
    return statistics.median(run[key] for run in runs)


def attribute_b(run):
    """Per task of the attributed (b) run: reads by side, compared with EXPECTED_B."""
    rows = []
    for record in run["records"]:
        if record["status"] == "skipped":
            continue
        sent = record.get("requests", {})
        authentik, salesforce = sent.get("authentik", []), sent.get("salesforce", [])
        if not authentik and not salesforce:
            continue
        name = record["task"].split(" : ", 1)[-1]
        logins = sum(1 for entry in salesforce if entry["api"] == "oauth")
        reads = sum(1 for entry in authentik + salesforce if not entry["write"]) - logins
        writes = sum(1 for entry in authentik + salesforce if entry["write"])
        expected = EXPECTED_B.get(name)
        rows.append({"task": name, "runs": max(record["items"], 1), "authentik": len(authentik),
                     "salesforce": len(salesforce) - logins, "logins": logins, "reads": reads, "writes": writes,
                     "expected": expected})
    return rows


def per_application(scale, cold, key):
    """{N: cost of one application} for N > 0: (run with N applications - run with none) / N."""
    runs = {run["apps"]: run for run in scale if run["cold"] == cold}
    return {n: (runs[n][key] - runs[0][key]) / n for n in sorted(runs) if n > 0}


def write_chart(path, scale):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for axis, key, title in zip(axes, ("requests", "wall", "cpu"),
                                ("HTTP requests per application", "wall seconds per application",
                                 "CPU seconds per application"), strict=True):
        for cold, style, label in ((True, "o-", "cold (creates)"), (False, "s--", "again (no change)")):
            costs = per_application(scale, cold, key)
            axis.plot(list(costs), list(costs.values()), style, label=label)
        sizes = sorted(costs)
        axis.set_xscale("log")
        axis.set_xticks(sizes)
        axis.set_xticklabels([str(n) for n in sizes])
        axis.minorticks_off()
        axis.set_xlabel("applications in one run (N)")
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle("Cost of one application against N: (run with N applications - run with none) / N")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def ratio_row(what, numerator, denominator, limit, paired=False):
    """A table row: wall and CPU time ratios of two groups of runs, checked against `limit`.

    The ratio of the medians; with `paired` (runs made alternately, numerator[i] just before denominator[i]), the
    median of the pairs' ratios, which a change of the machine's load during the bench disturbs less, decides.
    """
    cells = []
    verdicts = []
    for key, unit in (("wall", "wall"), ("cpu", "CPU")):
        top, bottom = median(numerator, key), median(denominator, key)
        ratio = top / bottom
        text = "%s %.2f s / %.2f s = %.2fx" % (unit, top, bottom, ratio)
        if paired:
            ratio = statistics.median(n[key] / d[key] for n, d in zip(numerator, denominator, strict=True))
            text += ", paired **%.2fx**" % ratio
        else:
            text = text.replace("= %.2fx" % ratio, "= **%.2fx**" % ratio)
        cells.append(text)
        verdicts.append(limit is None or ratio <= limit)
    if limit is None:
        verdict = ""
    elif all(verdicts):
        verdict = "yes"
    elif not any(verdicts):
        verdict = "**no**"
    else:
        verdict = "on %s time only" % ("wall" if verdicts[0] else "CPU")
    return "| %s | %s | %s |" % (what, "; ".join(cells), verdict)


def fmt_counts(counts):
    return ", ".join("%s %d" % (key, value) for key, value in sorted(counts.items())) or "none"


def report(data):
    info, runs = data["machine"], data["runs"]

    def pick(scenario):
        return [run for run in runs if run["scenario"] == scenario]

    a, b = pick("(a) role, cold")[0], pick("(b) role, again")
    c, c_strict = pick("(c) floor: ping per task"), pick("(c) floor: ping per module run")
    a_saml, b_saml = pick("role SAML part, cold"), pick("role SAML part, again")
    d, d_again = pick("(d) uri, cold"), pick("(d) uri, again")
    scale = sorted(pick("(e) scale"), key=lambda run: (run["apps"], not run["cold"]))
    attributed = attribute_b(data["attributed"])
    bound = sum(sum(row["expected"][:3]) for row in attributed if row["expected"])
    allowed_extra = sum(row["expected"][3] for row in attributed if row["expected"])
    reads = sum(row["reads"] for row in attributed)
    unexpected = [row["task"] for row in attributed if row["expected"] is None or
                  row["reads"] > sum(row["expected"][:4])]
    b_writes = max(run["writes"] for run in b)
    b_logins = max(run["logins"] for run in b)

    cold_requests, warm_requests = per_application(scale, True, "requests"), per_application(scale, False, "requests")
    constant = len(set(cold_requests.values())) == 1 and len(set(warm_requests.values())) == 1

    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (tests/bench/bench.py); the raw figures are in benchmarks.json. -->",
        "",
        "What the collection costs, measured in one run of `make bench` against the local sandboxes (the authentik",
        "sandbox with the %s profile and the Salesforce sandbox, on 127.0.0.1). Wall times are medians of the runs"
        % data["authentik_profile"],
        "shown; requests come from the sandboxes' request logs; \"module runs\" counts every execution of a module",
        "(a loop counts once per item). The sandboxes answer in a few milliseconds, so the times are mostly Ansible",
        "and Python on the controller, which is what the collection can influence.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        "| CPU | %s |" % info["cpu"],
        "| cores | %s |" % info["cores"],
        "| Python | %s |" % info["python"],
        "| ansible-core | %s |" % info["ansible_core"],
        "| system | %s |" % info["system"],
        "| load average at start / end | %s / %s |" % (
            " ".join(map(str, data["load_start"])), " ".join(map(str, data["load_end"]))),
        "| date | %s |" % data["date"],
        "| code measured | %s |" % data.get("revision", "unknown"),
        "| bench duration | %.0f s |" % data["duration"],
        "",
        "The machine may be shared with other work while the bench runs (see the load average): absolute times",
        "vary from run to run, so the ratios compare runs made back to back. CPU time is the user + system time of",
        "ansible-playbook and everything it started (the controller's work, the sandboxes excluded); it is less",
        "disturbed by other load than wall time, though not immune (Ansible polls for results while it waits).",
        "",
        "## Scenarios side by side",
        "",
        "| scenario | runs | wall time (s) | CPU time (s) | tasks | module runs | HTTP requests | writes "
        "| Salesforce API calls | logins |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("(a) role, cold", "(b) role, again", "(c) floor: ping per task", "(c) floor: ping per module run",
                 "role SAML part, cold", "role SAML part, again", "(d) uri, cold", "(d) uri, again"):
        group = pick(name)
        first = group[0]
        lines.append("| %s | %d | %.2f | %.2f | %d | %d | %d | %d | %d | %d |" % (
            name, len(group), median(group), median(group, "cpu"), first["tasks"], first["module_runs"],
            first["requests"], first["writes"], first["salesforce_api_calls"], first["logins"]))
    lines += [
        "",
        "(a)/(b): the full role as `make demo` runs it (SAML, an access group, the JIT preview, the External Client",
        "App and the OAuth source, SCIM). \"role SAML part\": the role with `salesforce_sso_oauth_source` and",
        "`salesforce_sso_scim` off, the same integration as (d). (d): `tests/bench/uri_saml.yml`, the SAML part with",
        "`ansible.builtin.uri` only, idempotent by hand (GET, compare, POST/PATCH or a Metadata API write); it logs in",
        "with client credentials and does no cross-check. (c): `ansible.builtin.ping` tasks, as many as (b) had task",
        "results (a set_fact or an include counts as one), and, stricter, as many as (b) had module runs.",
        "",
        "### HTTP requests by method and API",
        "",
        "| scenario | authentik | Salesforce |",
        "|---|---|---|",
    ]
    for name in ("(a) role, cold", "(b) role, again", "role SAML part, cold", "role SAML part, again",
                 "(d) uri, cold", "(d) uri, again"):
        run = pick(name)[0]
        lines.append("| %s | %s | %s |" % (
            name, fmt_counts(run["authentik_by_api"]), fmt_counts(run["salesforce_by_api"])))
    lines += [
        "",
        "## Ratios and targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        "| (b) sends no write | %d writes | %s |" % (b_writes, "yes" if b_writes == 0 else "**no**"),
        "| (b) logs in to Salesforce once | %d login(s) | %s |" % (b_logins, "yes" if b_logins == 1 else "**no**"),
        "| (b) reads at most one per managed object + one per distinct reference + version checks | %d reads for a "
        "bound of %d, plus %d reads the bound does not count (below) | %s |" % (
            reads, bound, allowed_extra, "yes" if reads <= bound else
            ("only with the %d reads below" % allowed_extra if reads <= bound + allowed_extra and not unexpected
             else "**no**")),
        ratio_row("(b) within 1.3x of (c), one ping per task", b, c, 1.3, paired=True),
        ratio_row("(b) against the stricter floor, one ping per module run (for information)", b, c_strict, None,
                  paired=True),
        ratio_row("(a) no slower than (d): role SAML part cold / uri cold", a_saml, d, 1.0, paired=True),
        ratio_row("the full role cold (a) / uri cold (d) (for information)", [a], d, None),
        ratio_row("role SAML part again / uri again (for information)", b_saml, d_again, None),
        "| requests per application constant in N (exact filters, no list scans) | per application at N = %s: "
        "cold %s, again %s | %s |" % (
            ", ".join(map(str, cold_requests)), ", ".join("%g" % value for value in cold_requests.values()),
            ", ".join("%g" % value for value in warm_requests.values()), "yes" if constant else "**no**"),
        "",
        "### (b) read by read",
        "",
        "Every request of one more (b) run, attributed to the task that sent it (this run is not timed: the",
        "attribution reads the logs around each task). The bound counts, per task, the managed objects it reads, the",
        "references it resolves and its version check; the last column says what each task reads.",
        "",
        "| task | module runs | authentik | Salesforce | writes | objects + references + versions = bound | "
        "beyond the bound | what |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in attributed:
        expected = row["expected"] or (0, 0, 0, 0, "**not in the expectation table**")
        lines.append("| %s | %d | %d | %d%s | %d | %d + %d + %d = %d | %d | %s |" % (
            row["task"], row["runs"], row["authentik"], row["salesforce"],
            " + %d login" % row["logins"] if row["logins"] else "", row["writes"], expected[0], expected[1],
            expected[2], sum(expected[:3]), max(0, row["reads"] - sum(expected[:3])), expected[4]))
    lines += [
        "| **total** | | | | %d | **%d** | **%d** | %d reads in all |" % (
            sum(row["writes"] for row in attributed), bound, max(0, reads - bound), reads),
        "",
        "The reads beyond the bound are the cross-check's (it reads the provider, its metadata, its signing",
        "certificate, the JIT preview and the SAML SSO configuration as they are, on purpose, so that drift made by",
        "hand is reported), the PEM of the signing certificate, which authentik serves at a second endpoint of the",
        "key pair, and authentik's licence summary (SCIM in OAuth mode needs an enterprise licence).",
        "",
        "## (e) Scale: the SAML part for N applications in one run",
        "",
        "Shared once per run: the login, the org, five SAML mappings, the signing certificate, SAML enabled. Per",
        "application: a SAML SSO configuration (Salesforce), a SAML provider and an application (authentik).",
        "",
        "| N | run | wall time (s) | CPU time (s) | module runs | HTTP requests | writes | Salesforce API calls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in scale:
        lines.append("| %s | %s | %.2f | %.2f | %d | %d | %d | %d |" % (
            run["apps"] or "0 (shared part only)", "cold" if run["cold"] else "again", run["wall"], run["cpu"],
            run["module_runs"], run["requests"], run["writes"], run["salesforce_api_calls"]))
    lines += [
        "",
        "Cost of one application, (run with N - run with none) / N:",
        "",
        "| N | requests, cold | requests, again | wall s, cold | wall s, again | CPU s, cold | CPU s, again |",
        "|---|---|---|---|---|---|---|",
    ]
    costs = {(cold, key): per_application(scale, cold, key)
             for cold in (True, False) for key in ("requests", "wall", "cpu")}
    for n in cold_requests:
        lines.append("| %d | %g | %g | %.2f | %.2f | %.2f | %.2f |" % (
            n, costs[True, "requests"][n], costs[False, "requests"][n], costs[True, "wall"][n],
            costs[False, "wall"][n], costs[True, "cpu"][n], costs[False, "cpu"][n]))
    lines += [
        "",
        "![cost per application against N](benchmarks.png)",
        "",
    ]
    lines += data.get("notes", [])
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", required=True, help="folder holding ansible_collections/sso/authentik")
    parser.add_argument("--sandbox-dir", default=str(REPO / ".build" / "bench-sandbox"))
    parser.add_argument("--docs", default=str(REPO / "docs"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-repeat", type=int, default=1)
    parser.add_argument("--scale", default="1,10,50")
    parser.add_argument("--revision", help="what --collections holds, for the report (default: this repository's "
                                           "commit, and whether plugins/ or roles/ differ from it)")
    parser.add_argument("--notes", default=str(HERE / "notes.md"),
                        help="a Markdown file appended to the report (what changed, before/after)")
    args = parser.parse_args(argv)
    import matplotlib  # noqa: F401 - fail now rather than after the runs (`make bench` installs it)

    started = time.perf_counter()
    load_start = [round(value, 2) for value in os.getloadavg()]
    sandboxes = Sandboxes(args.sandbox_dir)
    sandboxes.start()
    full_role = dict(FULL_ROLE, salesforce_sso_client_credentials_user=sandboxes.env["SALESFORCE_USERNAME"])
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as work:
            runner = Runner(Path(args.collections).resolve(), sandboxes, work)
            runs.append(runner.run("(a) role, cold", HERE / "role.yml", full_role, cold=True))
            for _index in range(args.repeat):
                b = runner.run("(b) role, again", HERE / "role.yml", full_role)
                runs.append(b)
                runs.append(runner.floor("(c) floor: ping per task", b["results"]))
                runs.append(runner.floor("(c) floor: ping per module run", b["module_runs"]))
            attributed = runner.run("(b) attributed", HERE / "role.yml", full_role, attribute=True)
            for _index in range(args.cold_repeat):
                runs.append(runner.run("role SAML part, cold", HERE / "role.yml", SAML_ROLE, cold=True))
                runs.append(runner.run("role SAML part, again", HERE / "role.yml", SAML_ROLE))
                runs.append(runner.run("(d) uri, cold", HERE / "uri_saml.yml", cold=True))
                runs.append(runner.run("(d) uri, again", HERE / "uri_saml.yml"))
            for apps in [0] + [int(value) for value in args.scale.split(",")]:  # 0: the shared part alone
                for cold in (True, False):
                    run = runner.run("(e) scale", HERE / "scale.yml", {"bench_apps": apps}, cold=cold)
                    run["apps"] = apps
                    runs.append(run)
    finally:
        sandboxes.stop()
    data = {"machine": machine(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "authentik_profile": "2026.8", "load_start": load_start, "runs": runs, "attributed": attributed,
            "duration": time.perf_counter() - started}
    data["load_end"] = data["machine"]["load_average"]
    data["revision"] = args.revision or revision()
    if args.notes and Path(args.notes).exists():
        data["notes"] = Path(args.notes).read_text(encoding="utf-8").splitlines()
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)  # --docs /tmp/bench for a quick look
    (docs / "benchmarks.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    write_chart(docs / "benchmarks.png", [run for run in runs if run["scenario"] == "(e) scale"])
    (docs / "benchmarks.md").write_text(report(data), encoding="utf-8")
    print("bench: done in %.0f s; see %s" % (data["duration"], docs / "benchmarks.md"))
    if data["duration"] > 600:
        print("bench: over 10 minutes; the load average was %s at the start and %s at the end"
              % (load_start, data["load_end"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
