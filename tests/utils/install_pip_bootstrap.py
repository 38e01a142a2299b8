"""Install get_pip.py where ansible-test looks for its cached pip bootstrap script.

The file name carries the pip version that the installed ansible-test pins, so it is read from ansible-test
itself rather than written down here. Run with the interpreter of the environment that holds ansible-test.
"""

import filecmp
import os
import shutil
import sys
import types
from pathlib import Path


def ansible_test_pip_version() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    # Only the interpreter's version is read from the config object.
    version = "%d.%d" % sys.version_info[:2]
    return get_venv_packages(types.SimpleNamespace(version=version))["pip"]


def main() -> int:
    source = Path(__file__).with_name("get_pip.py")
    pip_version = ansible_test_pip_version()
    target = Path(os.path.expanduser("~/.ansible/test/cache")) / ("get_pip_%s.py" % pip_version.replace(".", "_"))
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        print("pip bootstrap for ansible-test (pip %s) already in %s" % (pip_version, target))
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    print("installed pip bootstrap for ansible-test (pip %s) in %s" % (pip_version, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
