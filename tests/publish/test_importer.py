"""Galaxy's importer (galaxy-importer, run locally) accepts the artifact with no error and no warning."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import artifact_files

CONFIG = Path(__file__).with_name("galaxy-importer.cfg")


def test_galaxy_importer_accepts_the_artifact_without_a_warning(artifact, work):
    cwd = work / "importer"
    cwd.mkdir(exist_ok=True)
    env = dict(os.environ, GALAXY_IMPORTER_CONFIG=str(CONFIG), ANSIBLE_NOCOLOR="1", NO_COLOR="1",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
               ANSIBLE_LOCAL_TEMP=str(cwd / "tmp"))
    done = subprocess.run([sys.executable, "-m", "galaxy_importer.main", str(artifact)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    (cwd / "importer.log").write_text(output, encoding="utf-8")
    complaints = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR|CRITICAL)\b", line, re.I)]
    assert done.returncode == 0 and not complaints, "galaxy-importer (%d):\n%s" % (done.returncode, output[-6000:])
    assert "Importer processing completed successfully" in output

    result = json.loads((cwd / "importer_result.json").read_text(encoding="utf-8"))
    contents = {(item["content_type"], item["name"]) for item in result["contents"]}
    with open(Path(os.environ["PUBLISH_SOURCE"], "meta", "runtime.yml"), encoding="utf-8") as handle:
        claimed = re.search(r'^requires_ansible: "(.+)"$', handle.read(), re.M).group(1)
    assert result["requires_ansible"] == claimed
    modules = {name for kind, name in contents if kind == "module"}
    shipped = {Path(path).stem for path in artifact_files(artifact) if re.fullmatch(r"plugins/modules/\w+\.py", path)}
    assert modules == shipped and ("role", "salesforce_sso") in contents
    assert result["docs_blob"]["collection_readme"]["html"]
    # Every module's documentation was read (no module with an empty docs blob).
    documented = {item["content_name"] for item in result["docs_blob"]["contents"]
                  if item["content_type"] == "module" and item["doc_strings"]}
    assert documented == modules
    print("galaxy-importer: ok, %d modules, %d roles, requires_ansible %s, no warning"
          % (len(modules), len({n for k, n in contents if k == "role"}), result["requires_ansible"]))
