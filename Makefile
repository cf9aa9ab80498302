# Voxline's tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
# whisper.cpp (the `whisper` transcription engine) is built in; `make
# FEATURES=` leaves it out (no cmake, no C++ build).
FEATURES ?= --features voxline-providers/whisper,voxline-testkit/whisper

.PHONY: help setup build demo up down test check chaos bench bench-quality fmt lint migrate keys k8s-render deploy-check

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

setup: ## Install missing Debian packages; start PostgreSQL and Redis
	@scripts/setup.sh

build: setup ## Build every binary (debug)
	$(CARGO) build --workspace --bins $(FEATURES)

demo: build ## Start the system, dub the sample clip into Spanish, print where the results are
	@scripts/demo.sh

up: build ## Start the whole system as separate processes and leave it running; prints the URLs, an API key and the admin token
	@scripts/up.sh

down: ## Stop what `make up` started
	@scripts/up.sh down

test: ## Run every check and test against real PostgreSQL, Redis, S3 (s3s-fs) and engines
	@scripts/setup.sh --test
	@scripts/deploy-check.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings
	$(CARGO) build --workspace --bins $(FEATURES)
	@# nextest (on the project's machines) runs each test in its own process and ends with one summary line.
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast $(FEATURES); \
	else \
	  $(CARGO) test --workspace --no-fail-fast $(FEATURES); \
	fi

check: ## The fast inner loop: fmt, clippy, unit tests and the database and media tests (under a minute on a warm build)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings
	@# Every crate's own tests (PostgreSQL for voxline-db's); the system tests in voxline-testkit are `make test`'s.
	$(CARGO) nextest run --workspace --exclude voxline-testkit --features voxline-providers/whisper --no-fail-fast

chaos: ## The full fault suite (200 jobs; restarts PostgreSQL, stalls and stops Redis: run it alone)
	@scripts/setup.sh --test
	$(CARGO) build --workspace --bins $(FEATURES)
	@# One test at a time: each stops or restarts the shared PostgreSQL and Redis.
	VOXLINE_CHAOS_FULL=1 $(CARGO) test -p voxline-testkit --test chaos $(FEATURES) -- --nocapture --test-threads=1

bench: ## Benchmarks, with the peers side by side (release build; figures in docs/benchmarks.md)
	@scripts/setup.sh --bench
	@# The benchmarks that run services as processes use the release binaries.
	$(CARGO) build --release --workspace --bins $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench job_creation $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench vendor_calls $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench worker_profile $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench pipeline_throughput $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench handoff_latency $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench fairness $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench fleet_simulation $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench status_reads $(FEATURES)
	$(CARGO) bench -p voxline-testkit --bench media_overhead $(FEATURES)

bench-quality: ## Word error rates on human speech, stretch and drift of dubs (figures in docs/quality.md)
	@scripts/setup.sh
	$(CARGO) bench -p voxline-testkit --bench quality $(FEATURES)

fmt: ## Format the code
	$(CARGO) fmt --all

lint: ## Clippy, warnings as errors
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

migrate: build ## Apply database migrations (VOXLINE__DATABASE__URL)
	target/debug/voxline migrate

keys: build ## Create an API key for tenant `default`
	target/debug/voxline keys create

k8s-render: ## Render the Kubernetes overlays (deploy/k8s) into target/k8s/*.yaml
	@scripts/deploy-check.sh --render-only

deploy-check: ## Validate deploy/: rendered manifests, KEDA objects, Dockerfile, compose
	@scripts/deploy-check.sh
