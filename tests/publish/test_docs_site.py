"""The documentation site (`make docs`), opened in headless Chromium as a reader would.

The site is served on 127.0.0.1. Starting at the index, every internal page that a link leads to is opened in the
browser; each must load, have a title and a heading and show text, and each of its internal links, images,
stylesheets and scripts must point to something that exists (with the #anchor, if it has one). The pages the
collection must have (every module, the role, the guide mapping, every guide of docs/) must be reached this way.
Nothing may be loaded from another host. The index and one module page are kept as screenshots.

PUBLISH_DOCS_HTML    the built site
PUBLISH_SCREENSHOTS  where the screenshots go
PUBLISH_ARTIFACT     the artifact the site documents (its modules and guides are the pages expected)
"""

import functools
import http.server
import re
import tarfile
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from conftest import artifact_files, setting

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MIN_TEXT = 200  # characters of visible text on a page that is not empty
COLLECTION = "collections/sso/authentik/"


class Anchors(HTMLParser):
    """The ids and names a page's fragments can point to."""

    def __init__(self):
        super().__init__()
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.anchors.add(value)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture(scope="module")
def site():
    root = Path(setting("PUBLISH_DOCS_HTML"))
    assert (root / "index.html").is_file(), "no site in %s: `make docs` first" % root
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver  # pylint: disable=import-outside-toplevel
    from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                     # Another host cannot be reached (and must not be needed): fail such loads at once.
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def expected_pages():
    artifact = setting("PUBLISH_ARTIFACT")
    files = artifact_files(artifact)
    modules = [Path(p).stem for p in files if re.fullmatch(r"plugins/modules/\w+\.py", p)]
    roles = sorted({p.split("/")[1] for p in files if p.startswith("roles/")})
    guides = [Path(p).stem for p in files if re.fullmatch(r"docs/[^/]+\.md", p)]
    with tarfile.open(artifact) as tar:
        assert tar.getmember("README.md")
    return sorted(["index.html", COLLECTION + "index.html", COLLECTION + "docsite/guide-mapping.html",
                   "guides/README.html"]
                  + [COLLECTION + "%s_module.html" % name for name in modules]
                  + [COLLECTION + "%s_role.html" % name for name in roles]
                  + ["guides/%s.html" % name for name in guides])


def fetch(url, cache):
    """Status and body of an internal URL (without its fragment), once."""
    if url not in cache:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                cache[url] = (answer.status, answer.read())
        except urllib.error.HTTPError as error:
            cache[url] = (error.code, b"")
    return cache[url]


def anchors_of(url, cache, parsed):
    if url not in parsed:
        parser = Anchors()
        parser.feed(fetch(url, cache)[1].decode("utf-8", "replace"))
        parsed[url] = parser.anchors
    return parsed[url]


LINKS_JS = """
const out = [];
for (const a of document.querySelectorAll('a[href]')) out.push(['a', a.href, a.getAttribute('href')]);
for (const e of document.querySelectorAll('img[src], script[src], iframe[src]'))
  out.push([e.tagName, e.src, e.getAttribute('src')]);
for (const l of document.querySelectorAll('link[href]')) out.push(['link:' + l.rel, l.href, l.getAttribute('href')]);
return out;
"""


def test_every_page_loads_in_chromium_with_text_and_no_broken_internal_link(site, browser):
    screenshots = Path(setting("PUBLISH_SCREENSHOTS"))
    screenshots.mkdir(parents=True, exist_ok=True)
    cache, parsed, problems = {}, {}, []
    queue, seen = [urljoin(site, "index.html")], set()
    while queue:
        page = queue.pop(0)
        if page in seen:
            continue
        seen.add(page)
        status, _body = fetch(page, cache)
        if status != 200:
            problems.append("%s: HTTP %s" % (page, status))
            continue
        browser.get(page)
        title = browser.title.strip()
        headings = browser.find_elements("css selector", "h1")
        text = browser.execute_script("return document.body ? document.body.innerText : ''").strip()
        if not title or not headings or len(text) < MIN_TEXT:
            problems.append("%s: empty page (title %r, %d h1, %d characters)" % (page, title, len(headings), len(text)))
        for kind, target, written in browser.execute_script(LINKS_JS):
            if not target.startswith(site):
                if kind != "a" and urlsplit(target).scheme in ("http", "https", "//"):
                    problems.append("%s: loads %s from another host (%s)" % (page, target, kind))
                continue
            address, fragment = urldefrag(target)
            target_status = fetch(address, cache)[0]
            if target_status != 200:
                problems.append("%s: broken link %r (%s): HTTP %s" % (page, written, kind, target_status))
                continue
            if address.endswith(".html") or address.endswith("/"):
                if fragment and fragment not in anchors_of(address, cache, parsed):
                    problems.append("%s: link %r: no #%s in %s" % (page, written, fragment, address))
                if kind == "a" and address not in seen:
                    queue.append(address)
    reached = sorted(url[len(site):] for url in seen)
    missing = [page for page in expected_pages() if page not in reached]
    assert not missing, "pages not reached from the index: %s" % missing
    assert not problems, "\n".join(problems)

    for name, page in (("index", "index.html"), ("module-saml_provider", COLLECTION + "saml_provider_module.html")):
        browser.get(urljoin(site, page))
        path = screenshots / (name + ".png")
        assert browser.save_screenshot(str(path))
        assert path.stat().st_size > 20000, "%s looks blank (%d bytes)" % (path, path.stat().st_size)
    print("docs site: %d pages opened in Chromium, %d internal URLs checked, screenshots in %s"
          % (len(seen), len(cache), screenshots))


def test_the_guide_mapping_links_the_role_and_every_module_of_the_guide_playbooks(site, browser):
    browser.get(urljoin(site, COLLECTION + "docsite/guide-mapping.html"))
    links = {urldefrag(target)[0] for _kind, target, _written in browser.execute_script(LINKS_JS)}
    with tarfile.open(setting("PUBLISH_ARTIFACT")) as tar:
        playbooks = "".join(tar.extractfile("playbooks/%s_guide.yml" % half).read().decode()
                            for half in ("authentik", "salesforce"))
    used = sorted(set(re.findall(r"^\s+(?:- )?sso\.authentik\.(\w+):", playbooks, re.M)))
    assert len(used) >= 10, used
    wanted = [COLLECTION + "%s_module.html" % name for name in used] + [COLLECTION + "salesforce_sso_role.html"]
    missing = [page for page in wanted if urljoin(site, page) not in links]
    assert not missing, "the guide mapping does not link %s" % missing
