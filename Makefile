# Everything a newcomer needs, one target each; `make help` lists them.
SHELL := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
KUBECTL ?= kubectl
IMAGE ?= ghcr.io/ecschaos/ecs-invalid-container-image
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The race detector is on in every test run; long packages get an explicit timeout. Tests that need a real
# server (kube-apiserver, Prometheus) outside test/ carry the build tag `integration`.
TEST_FLAGS ?= -race -count=1 -timeout 20m
INTEGRATION := -tags integration

.PHONY: help build demo test test-unit test-integration prepare lint fuzz bench image image-oci manifests smoke-aws reliability-full litmus-e2e clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build the static binary into bin/experiment
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/experiment ./experiment

demo: ## run the fault against the built-in ECS simulator, print the ChaosResult and write dist/report.html
	@mkdir -p dist
	$(GO) run ./experiment demo --report dist/report.html

prepare: ## install and build what the integration tests need (Prometheus, moto check, kube-apiserver/etcd build)
	bash test/prepare.sh

test: prepare ## the whole test suite: unit and integration, race detector on
	$(GO) test $(INTEGRATION) $(TEST_FLAGS) ./...
	cd build/oci && $(GO) test $(TEST_FLAGS) ./...

test-unit: ## unit tests only: no external server, nothing to install (the ECS simulator runs in-process)
	$(GO) test $(TEST_FLAGS) ./pkg/... ./chaoslib/... ./experiment/...

test-integration: prepare ## the tests that need real servers: test/... and the `integration`-tagged tests in pkg/
	$(GO) test $(INTEGRATION) $(TEST_FLAGS) ./test/... ./pkg/...

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(INTEGRATION) ./...
	$(STATICCHECK) $(INTEGRATION) ./...
	cd build/oci && $(GO) vet ./... && $(STATICCHECK) ./...

fuzz: ## a short run of every fuzz target (FUZZTIME=20000x executions each; a duration like 60s works too)
	bash test/fuzz.sh $${FUZZTIME:-20000x}

smoke-aws: ## opt-in: the fault on a disposable service in a REAL account (CLUSTER_NAME, SERVICE_NAME, REGION); never run by CI
	bash test/smoke-aws/run.sh

reliability-full: ## the reliability matrices with the full 50-run crash-recovery loop
	ECSCHAOS_CRASH_RUNS=50 $(GO) test $(TEST_FLAGS) -v ./test/reliability/

litmus-e2e: ## opt-in: the fault under Litmus's own chaos-operator, chaos-runner and chaos-exporter (LITMUS_BIN, see test/litmus/README.md); never run by CI
	@if [ -z "$(LITMUS_BIN)" ]; then \
		echo "litmus-e2e needs Litmus's chaos-operator, chaos-runner and chaos-exporter, built from Litmus's own" >&2; \
		echo "repositories: LITMUS_BIN=<folder holding the three binaries>; see test/litmus/README.md" >&2; exit 1; fi
	bash test/prepare.sh
	ECSCHAOS_LITMUS_BIN="$(LITMUS_BIN)" $(GO) test -tags litmus -race -count=1 -timeout 40m -v ./test/litmus/

bench: prepare ## the full benchmark (bench/run.sh; its slowapi scenario needs the kube-apiserver build); see BENCHMARKS.md
	bash bench/run.sh

image: ## build the image with Docker (distroless, non-root) and its -shell variant
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .
	docker build --build-arg VERSION=$(VERSION) --target shell -t $(IMAGE):$(VERSION)-shell .

image-oci: ## assemble the same image without Docker into dist/oci and dist/image.tar; prints its size
	cd build/oci && $(GO) run . -version $(VERSION) -out $(CURDIR)/dist

manifests: ## render the Kubernetes manifests into dist/manifests.yaml
	@mkdir -p dist
	$(KUBECTL) kustomize manifests > dist/manifests.yaml

clean: ## remove build output
	rm -rf bin dist
