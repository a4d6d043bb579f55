# syntax=docker/dockerfile:1
#
# The fault's image: one static binary on distroless, run as a non-root user.
#
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/ecschaos/ecs-invalid-container-image:0.1.0 .
#   docker build --target shell ...   # the variant with a shell for inline cmdProbes (see below)
#
# build/oci assembles the same final stage without a Docker daemon (make image-oci); its test reads this
# file's final stage and compares it with what it built, so change both together.
#
# Shells and cmdProbes: distroless has no /bin/sh. An inline cmdProbe in the default image runs a plain
# command line split on spaces (no pipes, quotes or variables), and the image holds no program but
# /experiment, so a command with shell syntax is refused with a message saying so. No variant has the aws
# CLI: probes such as `aws ecs describe-services ...` use source mode (cmdProbe/inputs.source.image, e.g. an
# aws-cli image), which runs the command as its own pod. For inline shell one-liners (busybox tools only),
# build the `shell` target below: distroless's debug-nonroot image with busybox linked as /bin/sh.
# Both variants run as 65532 and write nothing outside /tmp (an emptyDir in the manifests), so they run
# with readOnlyRootFilesystem.

ARG GO_VERSION=1.26.8

# ---- build: a static binary, cross-compiled on the builder's own platform ----
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only what the binary is built from (experiment -> chaoslib -> pkg); tests, manifests and build tooling
# stay out of the layers without a .dockerignore. build/oci's test fails when the binary starts to depend
# on a folder not copied here.
COPY experiment/ experiment/
COPY chaoslib/ chaoslib/
COPY pkg/ pkg/
ARG VERSION=0.1.0-dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /experiment ./experiment

# ---- shell: the final image plus busybox as /bin/sh, for inline cmdProbes with shell syntax ----
# debug-nonroot carries busybox under /busybox (on PATH); the fault's probe runner looks for /bin/sh.
FROM gcr.io/distroless/static-debian12:debug-nonroot AS shell
USER 0:0
RUN ["/busybox/sh", "-c", "mkdir -p /bin && ln -s /busybox/sh /bin/sh"]
ARG VERSION=0.1.0-dev
LABEL org.opencontainers.image.title="ecs-invalid-container-image" \
      org.opencontainers.image.description="AWS ECS invalid container image chaos fault (Litmus-compatible), with a busybox shell for inline cmdProbes" \
      org.opencontainers.image.source="https://github.com/ecschaos/ecs-invalid-container-image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /experiment /experiment
USER 65532:65532
ENTRYPOINT ["/experiment"]
CMD ["run"]

# ---- final (default target): distroless static, non-root ----
# The base brings CA certificates (/etc/ssl/certs/ca-certificates.crt), /etc/passwd and /etc/group with
# nonroot (65532), and /tmp (1777); it has no shell and no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.1.0-dev
LABEL org.opencontainers.image.title="ecs-invalid-container-image" \
      org.opencontainers.image.description="AWS ECS invalid container image chaos fault (Litmus-compatible)" \
      org.opencontainers.image.source="https://github.com/ecschaos/ecs-invalid-container-image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /experiment /experiment
USER 65532:65532
ENTRYPOINT ["/experiment"]
CMD ["run"]
