"""Check the PLAY RECAP of an ansible-playbook run: no failed or unreachable host, and optionally no change.

Usage: check_recap.py LOG [--expect-unchanged]
Exit status 0 when the recap is as expected, 1 otherwise (with the offending recap lines printed).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/support: the recap parser of the suites

from support.playbooks import parse_recap  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--expect-unchanged", action="store_true", help="also require changed=0 on every host")
    args = parser.parse_args()

    with open(args.log, encoding="utf-8", errors="replace") as handle:
        hosts = parse_recap(handle.read())
    if not hosts:
        print("check_recap: no PLAY RECAP found in %s" % args.log)
        return 1

    bad = []
    for host, counts in hosts.items():
        if counts.get("failed", 0) or counts.get("unreachable", 0):
            bad.append("%s failed=%d unreachable=%d" % (host, counts.get("failed", 0), counts.get("unreachable", 0)))
        elif args.expect_unchanged and counts.get("changed", 0):
            bad.append("%s changed=%d (expected 0 on the second run)" % (host, counts["changed"]))
    for line in bad:
        print("check_recap: " + line)
    if not bad:
        total = sum(counts.get("changed", 0) for counts in hosts.values())
        print("check_recap: %d host(s), changed=%d, failed=0" % (len(hosts), total))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
