"""Run the pieces of `make publish` side by side, each logged to a file of its own, and report each one's time.

    parallel.py --logs DIR NAME=COMMAND [NAME=COMMAND ...]

Every COMMAND is a bash script, started at once in its own process group. When all have ended, each one's log is
printed (in the order given), then a line per piece with its wall time; the exit status is 1 if any failed. A
piece still running after --timeout seconds is ended (its process group) and counts as failed.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", required=True, help="directory of the pieces' logs")
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds before a piece is ended")
    parser.add_argument("pieces", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args(argv)

    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    running = {}
    for piece in args.pieces:
        name, sep, command = piece.partition("=")
        if not sep or not name or name in running:
            parser.error("expected distinct NAME=COMMAND, got %r" % piece)
        log = logs / (name + ".log")
        with open(log, "wb") as handle:
            process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], stdout=handle,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        running[name] = (process, log, time.monotonic())
        print("==> %s (log: %s)" % (name, log), flush=True)

    deadline = time.monotonic() + args.timeout
    results = {}
    while len(results) < len(running):
        for name, (process, _log, started) in running.items():
            if name not in results and process.poll() is not None:
                results[name] = (process.returncode, time.monotonic() - started)
        if time.monotonic() > deadline:
            for name, (process, _log, started) in running.items():
                if name not in results:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    results[name] = ("timeout", time.monotonic() - started)
        time.sleep(0.2)

    for name, (_process, log, _started) in running.items():
        print("---- %s " % name + "-" * max(0, 100 - len(name)))
        sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
    failed = []
    for name in running:
        code, seconds = results[name]
        status = "ok" if code == 0 else "FAILED (%s)" % code
        print("<== %-22s %s in %ds" % (name + ":", status, seconds))
        if code != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
