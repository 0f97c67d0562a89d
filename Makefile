# RustBill — the two commands: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Keep the test suite inside the CI budget on 2 cores.
TEST_THREADS ?= 4
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: run test deps deps-test admin build release lint fmt clippy check bench clean-data

## make run: install what is missing, build, start rustbill-server (embedded PostgreSQL),
## serving the customer portal from web/consumer/dist at / (RUSTBILL_SERVER__PORTAL_DIR= turns that off)
run: deps admin
	$(CARGO) build -p rustbill-server
	@./deploy/dev/local-config.sh
	RUSTBILL_SERVER__PORTAL_DIR="$${RUSTBILL_SERVER__PORTAL_DIR-$(CURDIR)/web/consumer/dist}" \
	exec $(TARGET_DIR)/debug/rustbill-server

## make test: install what is missing, run every test against a real PostgreSQL
test: deps-test admin
	$(CARGO) build --workspace --all-targets --all-features
	$(CARGO) test --workspace --all-features --no-fail-fast -- --test-threads=$(TEST_THREADS)
	$(TARGET_DIR)/tools/node_modules/.bin/buf lint
	CARGO_TARGET_DIR=$(TARGET_DIR) ./deploy/check-manifests.sh

deps:
	@./deploy/dev/ensure-deps.sh

## the web apps: admin console (served by the edge at [server].admin_path) and customer portal
admin:
	@./deploy/dev/build-web.sh

deps-test:
	@./deploy/dev/ensure-deps.sh --test

build:
	$(CARGO) build --workspace

release: admin
	$(CARGO) build --release -p rustbill-server -p rustbill-edge -p rustbill-identity -p rustbill-payments -p rustbill-plugins -p rustbill-catalog -p rustbill-orders -p rustbill-notify -p rustbill-cli

lint: deps-test fmt clippy
	$(TARGET_DIR)/tools/node_modules/.bin/buf lint

fmt:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

check: fmt clippy test

## make bench: latency of Login and GetMe (edge vs direct), catalog listing,
## plugin compile times and warm gateway calls, orders paid from the balance
## and the pipeline's end-to-end rate, events delivered to a local webhook,
## and the spec's table at 1M orders against the rustbill-server binary (docs/PERFORMANCE.md)
bench: deps
	$(CARGO) run --release -p rustbill-bench --bin rustbill-bench
	$(CARGO) run --release -p rustbill-bench --bin plugins
	$(CARGO) run --release -p rustbill-bench --bin orders
	$(CARGO) run --release -p rustbill-bench --bin notify
	$(CARGO) build --release -p rustbill-server
	$(CARGO) run --release -p rustbill-bench --bin scale

## remove the embedded database of `make run`
clean-data:
	rm -rf ./data/pg ./data/pg.sock
