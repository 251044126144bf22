# Quick start: `make run` (the whole service on its embedded defaults) and `make test`.
# Each creates or updates .venv itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit clean ceph-packages

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

test: lint typecheck ceph-packages
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
