"""Build the collection's documentation site: static HTML from an installed sso.authentik.

    build.py --collections PATH --dest DIR

PATH is a collections path that holds ansible_collections/sso/authentik (`make docs` installs the built artifact
there, so the site documents what ships). Into DIR/src it writes antsibull-docs' pages (every module, the role,
the collection index and docs/docsite's extra pages such as the guide mapping), the guides of the collection's
docs/ and its README (Markdown, read by myst-parser) and docs/site/index.rst; then sphinx-build writes DIR/html,
with warnings as errors. Run it with the interpreter of the environment that holds antsibull-docs and Sphinx.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent


def run(command, env):
    print("docs: " + " ".join(command), flush=True)
    subprocess.run(command, env=env, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", required=True, help="collections path holding sso.authentik")
    parser.add_argument("--dest", required=True, help="output directory (src/ and html/ are made anew)")
    args = parser.parse_args(argv)

    collections = Path(args.collections).resolve()
    collection = collections / "ansible_collections" / "sso" / "authentik"
    if not (collection / "MANIFEST.json").is_file():
        parser.error("no installed sso.authentik in %s" % collections)
    dest = Path(args.dest).resolve()
    src, html = dest / "src", dest / "html"
    for path in (src, html):
        shutil.rmtree(path, ignore_errors=True)
    # antsibull-docs writes only into a directory that no one else may write to.
    src.mkdir(parents=True, mode=0o700)
    os.chmod(src, 0o700)

    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    run([os.path.join(bin_dir, "antsibull-docs"), "--config-file", str(SITE / "antsibull-docs.cfg"), "collection",
         "--use-current", "--fail-on-error", "--dest-dir", str(src), "sso.authentik"], env)

    guides = src / "guides"
    guides.mkdir()
    shutil.copyfile(collection / "README.md", guides / "README.md")
    for page in sorted((collection / "docs").iterdir()):
        if page.suffix in (".md", ".png"):
            shutil.copyfile(page, guides / page.name)
    shutil.copyfile(SITE / "index.rst", src / "index.rst")

    run([os.path.join(bin_dir, "sphinx-build"), "-q", "-b", "html", "-W", "--keep-going", "-j", "2",
         "-c", str(SITE), str(src), str(html)], env)
    pages = sorted(html.rglob("*.html"))
    print("docs: %d pages in %s" % (len(pages), html))
    return 0


if __name__ == "__main__":
    sys.exit(main())
