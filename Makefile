# Quick start: `make run` (the whole service on its embedded defaults) and `make test`.
# Each creates or updates .venv itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint deploy-lint typecheck unit clean ceph-packages browser-packages lock lock-upgrade audit

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	DISCLOSURE_ORGS_FILE=$${DISCLOSURE_ORGS_FILE:-examples/orgs.yaml} $(VENV)/bin/disclosure serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The Dockerfile (hadolint, rules ignored in .hadolint.yaml with their reasons) and the
# Kubernetes manifests against the API schemas of the oldest release they are for and the
# newest kubernetes-validate knows, strictly (an unknown field is an error). Offline: both
# tools carry what they need. deploy/compose.yaml is checked by tests/deploy.
K8S_VERSIONS := 1.31.0 1.37.0
deploy-lint: $(STAMP)
	$(VENV)/bin/hadolint --config .hadolint.yaml Dockerfile
	@for v in $(K8S_VERSIONS); do \
		echo "kubernetes-validate --strict -k $$v deploy/kubernetes/*.yaml"; \
		$(VENV)/bin/kubernetes-validate --strict --quiet -k $$v deploy/kubernetes/*.yaml || exit 1; \
	done

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit -q

# Ceph RGW for the S3 tests (tests/support/ceph.py), from Debian's packages; installed only
# when a binary is missing. Without apt-get it says so, and those tests skip (never in CI).
CEPH_BINARIES := ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool
ceph-packages:
	@for b in $(CEPH_BINARIES); do command -v $$b >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null; then \
			echo "installing Ceph (mon, osd, radosgw) for the S3 tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends ceph-mon ceph-osd radosgw ceph-common >/dev/null; \
		else echo "Ceph is not installed and there is no apt-get: the Ceph tests will skip"; fi; \
	fi

# Chromium for the browser tests (tests/browser drive it with Playwright's Python API) and a
# CJK font for its screenshots, from Debian's packages; never `playwright install` (no browser
# download). Without apt-get it says so, and the browser tests fail: they never skip.
browser-packages:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
		if command -v apt-get >/dev/null; then \
			echo "installing chromium and a CJK font for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends chromium fonts-wqy-zenhei >/dev/null; \
		else echo "chromium is not installed and there is no apt-get: the browser tests will fail"; fi; \
	fi

# Three pytest processes share the tests (pytest-xdist, a worker taking what the others
# have not begun): two kept the 2 cores only half busy (user + sys ≈ wall), since most
# tests wait on servers and subprocesses. The end-to-end tests, which time whole
# services under load, then run alone.
test: lint deploy-lint typecheck ceph-packages browser-packages
	$(VENV)/bin/pytest -q -n 3 --dist worksteal -m "not e2e"
	$(VENV)/bin/pytest -q -m e2e

# The lock files the image installs from, for its platform (python:3.11-slim: CPython 3.11,
# Linux x86-64), every file's SHA-256 included: requirements.lock from [project].dependencies,
# requirements-build.lock from [build-system].requires. `lock` keeps the versions already
# pinned and resolves only what changed; `lock-upgrade` takes the newest of everything.
# tests/deploy/test_lock.py fails while pyproject.toml asks for what the lock lacks.
# uv is installed here, pinned, rather than in .[dev]: only these targets use it.
UV_VERSION := 0.13.10
LOCK_FLAGS := --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--generate-hashes --custom-compile-command "make lock"
BUILD_REQUIRES := import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")
lock lock-upgrade: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) $(if $(filter lock-upgrade,$@),--upgrade) \
		pyproject.toml -o requirements.lock
	$(VENV)/bin/python -c '$(BUILD_REQUIRES)' | $(VENV)/bin/uv pip compile $(LOCK_FLAGS) \
		$(if $(filter lock-upgrade,$@),--upgrade) - -o requirements-build.lock

# The packages the image ships (requirements.lock) against known vulnerabilities: a report,
# not part of `make test` (it needs the network). Exit 1 when one is found; without the
# network, or when the service knows none of the packages, it says NOT AUDITED and exits 0.
# AUDIT_SERVICE=osv asks OSV instead of PyPI.
PIP_AUDIT_VERSION := 2.10.1
AUDIT_SERVICE ?= pypi
audit: $(STAMP)
	@$(VENV)/bin/python -m pip install --quiet "pip-audit==$(PIP_AUDIT_VERSION)" >/dev/null 2>&1 \
		|| { echo "make audit: NOT AUDITED: pip-audit $(PIP_AUDIT_VERSION) could not be installed (no package index?)"; exit 0; }
	@$(VENV)/bin/python deploy/audit.py --service $(AUDIT_SERVICE)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
