# syntax=docker/dockerfile:1
#
# plugzapi's container image: the static server binary on distroless (no shell, no package manager), running as
# a non-root user, with its state (the SQLite database, the vault key, received files) in the /data volume.
#
#   docker build -t plugzapi .
#   docker run -p 8080:8080 -v plugzapi-data:/data plugzapi
#
# cmd/plugzapi's TestContainerFiles runs this file's go build line and checks that the settings below agree with
# the server's and with docker-compose.yml.

ARG GO_VERSION=1.26

# Cross-compiled on the builder's own platform: the binary needs no cgo.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/plugzapi ./cmd/plugzapi
# The data directory, to be owned by the image's user: a new volume mounted on it takes its ownership. It is
# copied as an entry of a tree, so that the directory itself gets the owner.
RUN mkdir -p /out/rootfs/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/plugzapi /plugzapi
COPY --from=build --chown=65532:65532 /out/rootfs/ /
# distroless' nonroot user.
USER 65532:65532
ENV PLUGZAPI_ADDR=:8080 \
    PLUGZAPI_DATA=/data
EXPOSE 8080
VOLUME ["/data"]
# No shell or curl here: the binary checks its own /healthz, on the address the same settings name.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/plugzapi", "healthcheck"]
ENTRYPOINT ["/plugzapi"]
