"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its virtualenvs.

ansible-test fetches ``get-pip-<version>.py`` from a CI file server that only the open internet reaches, and
uses ``~/.ansible/test/cache/get_pip_<version>.py`` instead when that file exists. ``make`` installs this
script there (see install_pip_bootstrap.py). ansible-test runs it with pip's options and the packages to
install as arguments (e.g. ``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``): we get
a pip from the interpreter's own ``ensurepip``, then let that pip install what was asked from the package
index configured on the machine.
"""

import subprocess
import sys

# get-pip.py understands these two flags; pip install does not.
GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True,
                   stdout=subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
