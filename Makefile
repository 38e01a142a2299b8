# sso.authentik: build and test entry points. `make help` lists the targets.
#
# The collection is the repository root. Ansible and ansible-test need it under a path that ends in
# ansible_collections/sso/authentik, so `make collection` copies the repository's files (tracked, plus untracked
# ones that git does not ignore) to $(COLLECTION), and the tests run from that copy.

PYTHON        ?= python3
VENV          := .venv
VENV_BIN      := $(CURDIR)/$(VENV)/bin
SANDBOX_VENVS := .venvs
# The authentik sandbox profiles (tests/sandbox/authentik): the release lines whose behaviour the modules depend on.
AUTHENTIK_PROFILES := 2025.12 2026.2 2026.5 2026.8
# Every supported release line: the contract test (tests/unit/contract) checks the modules against each line's
# authentik-client, installed like a profile's in $(SANDBOX_VENVS)/authentik-<line>.
RELEASE_LINES := 2025.10 2025.12 2026.2 2026.5 2026.8
BUILD         := .build
COLLECTION    := $(BUILD)/ansible_collections/sso/authentik
SANDBOX_DIR   := .sandbox
DEMO_PLAYBOOK := playbooks/demo.yml
# Parallel ansible-test integration runs (each with its own sandboxes); 2 suits a 2-core machine.
INTEGRATION_SHARDS ?= 2
# The Python version ansible-test runs the tests with: the one the virtualenv is built from.
TEST_PYTHON   ?= $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

VENV_STAMP     := $(VENV)/.installed
SANDBOX_STAMPS := $(foreach p,$(AUTHENTIK_PROFILES),$(SANDBOX_VENVS)/authentik-$(p)/.installed)
LINE_STAMPS    := $(foreach l,$(RELEASE_LINES),$(SANDBOX_VENVS)/authentik-$(l)/.installed)
LAUNCH         := $(VENV_BIN)/python $(CURDIR)/tests/sandbox/launch.py --dir $(CURDIR)/$(SANDBOX_DIR)

# Environment for commands that run Ansible against the build copy.
ANSIBLE_ENV := PATH="$(VENV_BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/$(BUILD)" ANSIBLE_NOCOLOR=1 NO_COLOR=1
# The unit tests import ansible_collections.sso.authentik and start sandbox servers with these interpreters.
UNIT_ENV := PYTHONPATH="$(CURDIR)/$(BUILD)" \
	$(foreach l,$(RELEASE_LINES),AUTHENTIK_SANDBOX_PYTHON_$(subst .,_,$(l))="$(CURDIR)/$(SANDBOX_VENVS)/authentik-$(l)/bin/python")

# Each recipe is one bash script that stops at the first failing command (also inside pipes).
SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
# The stages share the build copy and the sandboxes: never run them in parallel.
.NOTPARALLEL:

.PHONY: help venv pip-bootstrap collection sandbox-start sandbox-stop sandbox-status \
	units sanity lint bad-inputs integration reliability molecule awx test bench demo clean distclean \
	build docs changelog publish

help:
	@echo "make venv            virtualenvs: $(VENV) (tools), $(SANDBOX_VENVS)/authentik-* (sandboxes)"
	@echo "make collection      fresh build copy in $(COLLECTION)"
	@echo "make sandbox-start   start the authentik and Salesforce sandboxes (settings in $(SANDBOX_DIR)/env.sh)"
	@echo "make sandbox-stop    stop them (sandbox-status: are they running?)"
	@echo "make units           pytest tests/unit"
	@echo "make sanity          ansible-test sanity"
	@echo "make lint            ruff; ansible-lint on roles/, playbooks/ and extensions/ (Molecule)"
	@echo "make integration     ansible-test integration against the sandboxes"
	@echo "make reliability     the whole role under faults, interrupted at every write, twice at once; secrets audit"
	@echo "make molecule        the role's Molecule scenario (extensions/molecule) against the sandboxes"
	@echo "make awx             docs/awx.md: ansible-builder create; the job template recipe against the sandboxes"
	@echo "make bad-inputs      the bad-input matrix (tests/bad_inputs, docs/bad-inputs.md) against TLS sandboxes"
	@echo "make test            units + sanity + lint + bad-inputs + integration + reliability + molecule + awx + publish"
	@echo "make build           the Galaxy artifact in $(DIST) (galaxy.yml's manifest: only what ships)"
	@echo "make docs            the documentation site in $(DOCS_BUILD)/html (docs-check: open it in headless Chromium)"
	@echo "make changelog       CHANGELOG.rst and changelogs/changelog.yaml from the fragments"
	@echo "make publish         artifact + Galaxy's importer + changelog + newest ansible-core (units, sanity, the guide"
	@echo "                     from the installed artifact, also with the oldest) + docs site in Chromium"
	@echo "make bench           measure the role, a ping floor, the uri way and N applications: docs/benchmarks.md"
	@echo "make demo            run $(DEMO_PLAYBOOK) twice against the sandboxes; the second run must change nothing"
	@echo "make clean           remove the build copy, sandbox state, caches (distclean: also the virtualenvs)"

# --- virtualenvs -----------------------------------------------------------------------------------------------
# Stamp files: a second run installs nothing; a changed requirements file installs again.

venv: $(VENV_STAMP) $(SANDBOX_STAMPS) $(LINE_STAMPS) pip-bootstrap

$(VENV_STAMP): requirements.txt tests/requirements.txt
	@echo "==> venv: $(VENV)"
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt -r tests/requirements.txt
	touch $@

$(SANDBOX_VENVS)/authentik-%/.installed: tests/sandbox/requirements-authentik-%.txt
	@echo "==> venv: $(SANDBOX_VENVS)/authentik-$*"
	[ -x $(SANDBOX_VENVS)/authentik-$*/bin/python ] || $(PYTHON) -m venv $(SANDBOX_VENVS)/authentik-$*
	$(SANDBOX_VENVS)/authentik-$*/bin/python -m pip install --quiet -r $<
	touch $@

# ansible-test bootstraps pip in its own virtualenvs with a get-pip script downloaded from a host outside the
# package registries; put ours (tests/utils/get_pip.py) where it looks first. Cheap, so checked every time.
pip-bootstrap: $(VENV_STAMP)
	@$(VENV_BIN)/python tests/utils/install_pip_bootstrap.py

# --- build copy ------------------------------------------------------------------------------------------------

collection:
	@echo "==> collection: $(COLLECTION)"
	rm -rf $(COLLECTION)
	mkdir -p $(COLLECTION)
	# Tracked files (but not those deleted in the work tree) and untracked ones that git does not ignore.
	git ls-files -co --exclude-standard -z \
		| xargs -0 -r sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh \
		| xargs -0 -r cp --parents -t $(COLLECTION)
	# A repository of its own: ansible-test lists a collection's files with git, and would otherwise find the
	# outer repository, where .build is ignored, and see no files at all.
	git -C $(COLLECTION) init --quiet
	echo "<== collection: $$(find $(COLLECTION) -type f | wc -l) files"

# --- sandboxes -------------------------------------------------------------------------------------------------

sandbox-start: $(VENV_STAMP) $(SANDBOX_STAMPS)
	@echo "==> sandbox-start"
	$(LAUNCH) start

sandbox-stop:
	@echo "==> sandbox-stop"
	if [ -x $(VENV_BIN)/python ]; then $(LAUNCH) stop; fi

sandbox-status: $(VENV_STAMP)
	@$(LAUNCH) status || true

# --- tests -----------------------------------------------------------------------------------------------------

# pytest's "no tests collected" (exit 5) is accepted only while tests/unit holds no test file at all.
units: $(VENV_STAMP) $(SANDBOX_STAMPS) $(LINE_STAMPS) collection
	@echo "==> units: pytest tests/unit"
	SECONDS=0
	if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null)" ]; then
		echo "units: no test files in tests/unit yet, nothing to run"
	else
		cd $(COLLECTION)
		$(UNIT_ENV) $(VENV_BIN)/python -m pytest tests/unit -q -p no:cacheprovider
	fi
	echo "<== units: ok in $${SECONDS}s"

# --local: the tools' virtualenv is the controller; each sanity test gets a virtualenv of its own (pip bootstrap).
# No ignore file: every finding fails the stage.
sanity: $(VENV_STAMP) pip-bootstrap collection
	@echo "==> sanity: ansible-test sanity --python $(TEST_PYTHON)"
	SECONDS=0
	cd $(COLLECTION)
	$(ANSIBLE_ENV) ansible-test sanity --local --python $(TEST_PYTHON) --color no
	echo "<== sanity: ok in $${SECONDS}s"

# Both linters run even when the first one complains; the stage fails if either did.
lint: $(VENV_STAMP) collection
	@echo "==> lint: ruff, ansible-lint, ansible-doc"
	SECONDS=0
	rc=0
	$(VENV_BIN)/ruff check plugins tests || rc=1
	dirs=""
	for d in roles playbooks extensions; do
		if [ -n "$$(find $$d -name '*.yml' 2>/dev/null)" ]; then dirs="$$dirs $$d"; fi
	done
	if [ -z "$$dirs" ]; then
		echo "lint: no roles/ or playbooks/ yet, ansible-lint skipped"
	else
		echo "ansible-lint$$dirs"
		(cd $(COLLECTION) && $(ANSIBLE_ENV) ansible-lint $$dirs) || rc=1
	fi
	# Every module and the role render with ansible-doc (an error there is a documentation bug).
	modules=$$(ls plugins/modules/*.py | xargs -n1 basename | sed 's/\.py$$//; s/^/sso.authentik./')
	$(ANSIBLE_ENV) ansible-doc --json $$modules > /dev/null || { echo "lint: ansible-doc failed"; rc=1; }
	for role in $$(ls roles); do
		$(ANSIBLE_ENV) ansible-doc -t role --json sso.authentik.$$role > /dev/null || { echo "lint: ansible-doc $$role failed"; rc=1; }
	done
	[ $$rc = 0 ] || { echo "<== lint: FAILED"; exit 1; }
	echo "<== lint: ok in $${SECONDS}s"

# The sandboxes are stopped whatever the outcome; the exit status is the tests'.
integration: $(VENV_STAMP) $(SANDBOX_STAMPS) pip-bootstrap collection
	@echo "==> integration: ansible-test integration against the sandboxes"
	SECONDS=0
	if [ -z "$$(ls tests/integration/targets 2>/dev/null)" ]; then
		echo "integration: no targets in tests/integration/targets yet, nothing to run"
		exit 0
	fi
	# Shards run in parallel, each with its own build copy and sandboxes (tests/utils/integration_shards.py).
	$(ANSIBLE_ENV) $(VENV_BIN)/python tests/utils/integration_shards.py $(COLLECTION) $(INTEGRATION_SHARDS) $(TEST_PYTHON)
	echo "<== integration: ok in $${SECONDS}s"

test: units sanity lint bad-inputs integration reliability molecule awx publish
	@echo "==> test: all stages passed"

# tests/reliability: the whole role under injected faults, interrupted at every write in turn, two runs at once, and
# a secrets audit of every run's output. It starts its own sandbox sets (one per parallel worker, RELIABILITY_WORKERS,
# default 3) in $(RELIABILITY_SANDBOX_DIR) and stops them at the end; the trap stops them should pytest die.
RELIABILITY_SANDBOX_DIR := $(CURDIR)/$(SANDBOX_DIR)/reliability
RELIABILITY_STOP := for d in $(RELIABILITY_SANDBOX_DIR)/sandbox*; do [ ! -d "$$d" ] || \
	$(VENV_BIN)/python $(CURDIR)/tests/sandbox/launch.py stop --dir "$$d" > /dev/null; done
reliability: $(VENV_STAMP) $(SANDBOX_STAMPS) collection
	@echo "==> reliability: tests/reliability"
	SECONDS=0
	trap '$(RELIABILITY_STOP)' EXIT
	cd $(COLLECTION)
	$(ANSIBLE_ENV) $(SANDBOX_PYTHONS) RELIABILITY_SANDBOX_DIR=$(RELIABILITY_SANDBOX_DIR) \
		$(VENV_BIN)/python -m pytest tests/reliability -q -p no:cacheprovider
	echo "<== reliability: ok in $${SECONDS}s"

# --- Molecule and AWX -----------------------------------------------------------------------------------------

# tests/sandbox/launch.py, run from the build copy, needs the authentik sandbox profiles' interpreters.
SANDBOX_PYTHONS := $(foreach p,$(AUTHENTIK_PROFILES),\
	AUTHENTIK_SANDBOX_PYTHON_$(subst .,_,$(p))="$(CURDIR)/$(SANDBOX_VENVS)/authentik-$(p)/bin/python")
MOLECULE_SANDBOX_DIR := $(CURDIR)/$(SANDBOX_DIR)/molecule
AWX_SANDBOX_DIR      := $(CURDIR)/$(SANDBOX_DIR)/awx

# `molecule test` from the build copy. The scenario starts its sandboxes in create.yml and stops them in destroy.yml
# (also after a failure); the trap stops them should Molecule itself die. AUTHENTIK_* / SALESFORCE_* variables of
# the caller's shell are dropped: the modules would read them for options the scenario leaves to their defaults.
molecule: $(VENV_STAMP) $(SANDBOX_STAMPS) collection
	@echo "==> molecule: extensions/molecule/default against the sandboxes"
	SECONDS=0
	trap '$(VENV_BIN)/python $(CURDIR)/tests/sandbox/launch.py stop --dir $(MOLECULE_SANDBOX_DIR) > /dev/null' EXIT
	for name in $$(compgen -e | grep -E '^(AUTHENTIK|SALESFORCE)_' || true); do unset "$$name"; done
	cd $(COLLECTION)
	$(ANSIBLE_ENV) $(SANDBOX_PYTHONS) MOLECULE_SANDBOX_DIR=$(MOLECULE_SANDBOX_DIR) molecule test
	echo "<== molecule: ok in $${SECONDS}s"

# tests/awx: ansible-builder create on the execution environment definitions, and docs/awx.md's job template recipe
# run against the sandboxes (which the test starts and stops) with only the credential types' environment.
awx: $(VENV_STAMP) $(SANDBOX_STAMPS) collection
	@echo "==> awx: tests/awx"
	SECONDS=0
	trap '$(VENV_BIN)/python $(CURDIR)/tests/sandbox/launch.py stop --dir $(AWX_SANDBOX_DIR) > /dev/null' EXIT
	cd $(COLLECTION)
	$(ANSIBLE_ENV) $(SANDBOX_PYTHONS) AWX_SANDBOX_DIR=$(AWX_SANDBOX_DIR) $(VENV_BIN)/python -m pytest tests/awx -q -p no:cacheprovider
	echo "<== awx: ok in $${SECONDS}s"

# --- bad inputs, benchmark ---------------------------------------------------------------------------------------

# tests/bad_inputs: every case of docs/bad-inputs.md, against authentik and Salesforce sandboxes that the test
# starts itself, over TLS with a CA it generates (and stops at the end).
bad-inputs: $(VENV_STAMP) $(SANDBOX_STAMPS) collection
	@echo "==> bad-inputs: tests/bad_inputs (docs/bad-inputs.md)"
	SECONDS=0
	cd $(COLLECTION)
	$(ANSIBLE_ENV) $(SANDBOX_PYTHONS) $(VENV_BIN)/python -m pytest tests/bad_inputs -q -p no:cacheprovider
	echo "<== bad-inputs: ok in $${SECONDS}s"

# Not part of `make test`. A build copy and sandboxes of its own (.build/bench), so that it neither disturbs nor is
# disturbed by the other stages; matplotlib, for the chart, is installed here only. BENCH_ARGS: more options of
# tests/bench/bench.py, e.g. BENCH_ARGS="--repeat 1 --scale 1,10 --docs /tmp/bench" for a quick look.
BENCH_BUILD := $(BUILD)/bench
BENCH_ARGS  ?=
bench: $(VENV_STAMP) $(SANDBOX_STAMPS)
	@echo "==> bench: tests/bench -> docs/benchmarks.md"
	SECONDS=0
	$(VENV_BIN)/python -c 'import matplotlib' 2>/dev/null || $(VENV_BIN)/python -m pip install --quiet matplotlib
	$(MAKE) --no-print-directory collection BUILD=$(BENCH_BUILD)
	trap '$(VENV_BIN)/python tests/sandbox/launch.py stop --dir $(CURDIR)/$(BENCH_BUILD)/sandbox > /dev/null' EXIT
	$(SANDBOX_PYTHONS) $(VENV_BIN)/python tests/bench/bench.py --collections $(BENCH_BUILD) \
		--sandbox-dir $(CURDIR)/$(BENCH_BUILD)/sandbox --docs docs $(BENCH_ARGS)
	echo "<== bench: ok in $${SECONDS}s"

# --- demo ------------------------------------------------------------------------------------------------------

demo: $(VENV_STAMP) $(SANDBOX_STAMPS) collection
	@echo "==> demo: $(DEMO_PLAYBOOK) against the sandboxes"
	SECONDS=0
	[ -f $(DEMO_PLAYBOOK) ] || { echo "demo: $(DEMO_PLAYBOOK) does not exist yet"; exit 1; }
	$(LAUNCH) start
	trap '$(LAUNCH) stop' EXIT
	set -a; . $(SANDBOX_DIR)/env.sh; set +a
	log=$(CURDIR)/$(SANDBOX_DIR)/demo-second-run.log
	cd $(COLLECTION)
	echo "==> demo: first run"
	$(ANSIBLE_ENV) ansible-playbook $(DEMO_PLAYBOOK)
	echo "==> demo: second run (must report no change)"
	$(ANSIBLE_ENV) ansible-playbook $(DEMO_PLAYBOOK) | tee "$$log"
	$(VENV_BIN)/python $(CURDIR)/tests/utils/check_recap.py "$$log" --expect-unchanged
	echo "<== demo: ok in $${SECONDS}s"

# --- housekeeping ----------------------------------------------------------------------------------------------

clean: sandbox-stop
	rm -rf $(BUILD) $(SANDBOX_DIR) tests/output .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) $(SANDBOX_VENVS)

# --- publish: the Galaxy artifact, Galaxy's importer, the newest ansible-core, the docs site -------------------
# The supported range is meta/runtime.yml's requires_ansible. Its oldest line runs the full suite above (.venv);
# exactly its floor and the newest line each run the guide from the installed artifact; the newest line also runs
# the unit tests and ansible-test sanity, in $(NEWEST_VENV), which holds the publishing tools as well.
VERSION        := $(shell sed -n 's/^version: *//p' galaxy.yml)
DIST           := $(BUILD)/dist
ARTIFACT       := $(DIST)/sso-authentik-$(VERSION).tar.gz
PUBLISH_BUILD  := $(BUILD)/publish
DOCS_BUILD     := $(BUILD)/docs
CORE_OLDEST    := ansible-core==2.19.0
CORE_NEWEST    := ansible-core>=2.21,<2.22
# ansible-core 2.21 needs Python 3.12 or newer: pyenv's, or one on the PATH.
PYTHON_NEWEST  ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python) \
	$(shell command -v python3.12 2>/dev/null) $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python))
NEWEST_VENV    := $(SANDBOX_VENVS)/core-2.21
NEWEST_BIN     := $(CURDIR)/$(NEWEST_VENV)/bin
NEWEST_STAMP   := $(NEWEST_VENV)/.installed
NEWEST_PY_VERSION := $(if $(PYTHON_NEWEST),$(shell $(PYTHON_NEWEST) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
PUBLISH_ENV    := PUBLISH_SOURCE="$(CURDIR)" PUBLISH_ARTIFACT="$(CURDIR)/$(ARTIFACT)" \
	PUBLISH_WORK="$(CURDIR)/$(PUBLISH_BUILD)/work" PUBLISH_CORE_OLDEST="$(CORE_OLDEST)" \
	PUBLISH_CORE_NEWEST="$(CORE_NEWEST)" PUBLISH_PYTHON_OLDEST="$(shell $(PYTHON) -c 'import sys; print(sys.executable)')" \
	PUBLISH_PYTHON_NEWEST="$(PYTHON_NEWEST)" PUBLISH_PIP_PYTHON="$(VENV_BIN)/python" \
	PUBLISH_LAUNCH_PYTHON="$(VENV_BIN)/python" PUBLISH_DOCS_HTML="$(CURDIR)/$(DOCS_BUILD)/html" \
	PUBLISH_SCREENSHOTS="$(CURDIR)/$(DOCS_BUILD)/screenshots" $(SANDBOX_PYTHONS)
PUBLISH_PYTEST := $(NEWEST_BIN)/python -m pytest -q -p no:cacheprovider -s
# On the newest line: the unit tests of the collection's code (tests/unit/sandbox tests the sandbox servers, which run
# under their own interpreters, never under the collection's ansible-core: `make units` runs them), and sanity of what
# ships (the oldest line's `make sanity` covers tests/ as well).
NEWEST_SANITY_TARGETS := plugins/ roles/ playbooks/ meta/ changelogs/ docs/ README.md galaxy.yml requirements.txt

.PHONY: docs-html docs-check chromium

$(NEWEST_STAMP): tests/publish/requirements.txt requirements.txt
	@echo "==> venv: $(NEWEST_VENV) (ansible-core 2.21, publishing tools)"
	[ -n "$(PYTHON_NEWEST)" ] || { echo "venv: no Python 3.12 (pyenv install 3.12, or PYTHON_NEWEST=...)"; exit 1; }
	[ -x $(NEWEST_VENV)/bin/python ] || $(PYTHON_NEWEST) -m venv --without-pip $(NEWEST_VENV)
	$(VENV)/bin/python -m pip --python $(NEWEST_VENV)/bin/python install --quiet \
		-r tests/publish/requirements.txt -r requirements.txt
	touch $@

# Chromium and its driver, from Debian, for the docs site's browser check.
chromium:
	@command -v chromium > /dev/null && command -v chromedriver > /dev/null && exit 0
	echo "==> chromium: apt-get install chromium chromium-driver"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver > /dev/null

# The Galaxy artifact, from galaxy.yml's manifest directives: only what ships, whatever else lies in the work tree.
# It is built from a copy (tracked files and untracked ones git does not ignore) in which the release notes are
# generated from the fragments, so that the artifact's CHANGELOG.rst is never behind them.
build: $(NEWEST_STAMP)
	@echo "==> build: $(ARTIFACT)"
	rm -rf $(DIST) $(BUILD)/stage
	$(NEWEST_BIN)/python tests/publish/changelog.py --stage $(BUILD)/stage > /dev/null
	(cd $(BUILD)/stage/ansible_collections/sso/authentik && \
		$(NEWEST_BIN)/ansible-galaxy collection build --output-path $(CURDIR)/$(DIST) > /dev/null)
	echo "<== build: $$(tar tzf $(ARTIFACT) | grep -vc '/$$') files, $$(stat -c %s $(ARTIFACT)) bytes"

# Publish: `ansible-galaxy collection publish $(ARTIFACT) --api-key ...` (see README).

# The documentation site, from the built artifact installed in a collections path of its own.
docs: build
	@$(MAKE) --no-print-directory docs-html
docs-html: $(NEWEST_STAMP)
	@echo "==> docs: $(DOCS_BUILD)/html"
	rm -rf $(DOCS_BUILD)/collections
	$(NEWEST_BIN)/ansible-galaxy collection install --force $(ARTIFACT) -p $(DOCS_BUILD)/collections > /dev/null 2>&1
	$(NEWEST_BIN)/python docs/site/build.py --collections $(DOCS_BUILD)/collections --dest $(DOCS_BUILD)
	echo "<== docs: open $(DOCS_BUILD)/html/index.html"
docs-check: $(NEWEST_STAMP) chromium
	@echo "==> docs-check: the site in headless Chromium"
	cd tests/publish && $(PUBLISH_ENV) $(PUBLISH_PYTEST) test_docs_site.py

# Release notes of $(VERSION) from the fragments: changelogs/changelog.yaml and CHANGELOG.rst.
changelog: $(NEWEST_STAMP)
	@$(NEWEST_BIN)/antsibull-changelog lint
	$(NEWEST_BIN)/python tests/publish/changelog.py --write

# The pieces run side by side (tests/publish/parallel.py), each in its own directory and sandboxes; each one's time
# is reported. Before them: the fragments' lint, the artifact, the build copies of the newest line.
publish: $(VENV_STAMP) $(SANDBOX_STAMPS) $(LINE_STAMPS) $(NEWEST_STAMP) pip-bootstrap
	@echo "==> publish: artifact, importer, changelog, newest ansible-core, artifact install and run, docs site"
	SECONDS=0
	rm -rf $(PUBLISH_BUILD)
	$(NEWEST_BIN)/antsibull-changelog lint
	$(MAKE) --no-print-directory build
	$(NEWEST_BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	$(NEWEST_BIN)/python tests/utils/install_pip_bootstrap.py
	for copy in units sanity; do $(MAKE) --no-print-directory collection BUILD=$(PUBLISH_BUILD)/$$copy > /dev/null; done
	$(VENV_BIN)/python tests/publish/parallel.py --logs $(PUBLISH_BUILD)/logs \
		'install=cd tests/publish && $(PUBLISH_ENV) $(PUBLISH_PYTEST) test_install.py' \
		'artifact=cd tests/publish && $(PUBLISH_ENV) $(PUBLISH_PYTEST) test_artifact.py test_importer.py' \
		'docs=$(MAKE) --no-print-directory chromium docs-html docs-check' \
		'units-newest=cd $(PUBLISH_BUILD)/units/ansible_collections/sso/authentik && \
			PYTHONPATH=$(CURDIR)/$(PUBLISH_BUILD)/units:$(CURDIR)/tests/publish/newest $(filter-out PYTHONPATH=%,$(UNIT_ENV)) \
			$(NEWEST_BIN)/python -m pytest tests/unit --ignore=tests/unit/sandbox -q -p no:cacheprovider -p known_issues' \
		'sanity-newest=cd $(PUBLISH_BUILD)/sanity/ansible_collections/sso/authentik && PATH=$(NEWEST_BIN):$$PATH \
			ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(PUBLISH_BUILD)/sanity ansible-test sanity --local \
			--python $(NEWEST_PY_VERSION) --color no $(NEWEST_SANITY_TARGETS)'
	echo "<== publish: ok in $${SECONDS}s"
