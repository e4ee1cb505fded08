# trench: everything an operator or CI runs. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
OS       := $(shell uname -s | tr '[:upper:]' '[:lower:]')
ARCH     := $(shell uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
# Terraform's implied local mirror: plain `terraform init` finds the provider here, offline.
MIRROR   := $(HOME)/.terraform.d/plugins/registry.terraform.io/trench-lab/trench/$(VERSION)/$(OS)_$(ARCH)
CARGO    ?= cargo
# Python tools the tests use (check-jsonschema), in a venv of the repo's own.
VENV     := .trench/ci-venv
# Cargo tools the reliability suites use (cargo-fuzz), installed into the repo.
TOOLS    := .trench/tools

.PHONY: help tools build install test lint bench reliability fmt sim generate docs demo demo-destroy

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: ## build every binary (debug)
	$(CARGO) build --workspace --bins

install: ## build the release provider and install it into Terraform's implied local mirror
	$(CARGO) build --release -p trench-provider --bin terraform-provider-trench
	mkdir -p $(MIRROR)
	install -m 0755 target/release/terraform-provider-trench $(MIRROR)/terraform-provider-trench_v$(VERSION)
	@echo "installed terraform-provider-trench $(VERSION) into $(MIRROR)"
	@echo "note: a rebuilt binary no longer matches an existing .terraform.lock.hcl; delete it and re-run terraform init"

tools: $(VENV)/.installed $(TOOLS)/bin/cargo-fuzz ## install what tests and suites need beyond the toolchain into .trench/

# The workflow validator, the Azure SDKs for Python the conformance test drives armsim with, and the
# JSON Schema validator the OpenAPI conformance test uses.
$(VENV)/.installed: tests/sdk/requirements.txt tests/openapi/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'check-jsonschema>=0.29' -r tests/sdk/requirements.txt -r tests/openapi/requirements.txt
	touch $@

$(TOOLS)/bin/cargo-fuzz:
	$(CARGO) install --locked --quiet cargo-fuzz --root $(TOOLS)

test: build $(VENV)/.installed ## everything CI runs: unit, in-process gRPC, armsim and end-to-end tests with the real terraform
	TRENCH_WORKFLOW_VALIDATOR=$(CURDIR)/$(VENV)/bin/check-jsonschema TRENCH_SDK_PYTHON=$(CURDIR)/$(VENV)/bin/python $(CARGO) test --workspace

lint: ## formatting and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

generate: ## regenerate env/*/ from each estate.toml, and the module READMEs
	$(CARGO) run -q -p trench-hclgen -- generate

docs: ## regenerate docs/ (registry layout) from the provider's schema and examples/
	$(CARGO) build --workspace --bins
	target/debug/trench-xtask docs --binary target/debug/terraform-provider-trench

demo: ## the main job: env/dev applied against a local simulator (no Azure), outputs shown, next plan empty
	$(CARGO) build --release --workspace --bins
	@$(MAKE) --no-print-directory install
	target/release/trench-xtask demo $(DEMO_ARGS)

demo-destroy: ## tear the demo estate down and remove .trench/demo
	$(CARGO) build --release --workspace --bins
	@$(MAKE) --no-print-directory install
	target/release/trench-xtask demo --destroy

sim: ## run the ARM simulator on https://127.0.0.1:8443 (state in .trench/sim; TIME_SCALE defaults to 0.01)
	$(CARGO) run --release -p trench-armsim -- serve --listen 127.0.0.1:8443 --state-dir .trench/sim --time-scale $(or $(TIME_SCALE),0.01)

reliability: $(TOOLS)/bin/cargo-fuzz ## fault soak, crash and interrupt, drift, bad input, fuzzing and security suites (one line per suite)
	$(CARGO) build --release --workspace --bins
	PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" target/release/trench-reliability $(RELIABILITY_ARGS)

bench: ## measure every figure (release build) into bench/results.json
	$(CARGO) build --release --workspace --bins
	target/release/trench-bench --out bench/results.json
