# syntax=docker/dockerfile:1
# Rivet as a container: a `deno compile`d single binary on a distroless glibc base, run as a
# non-root user. Build: docker build -t rivet .   Run: docker run --rm -v "$PWD:/work" rivet run -c rivet.yaml
# Multi-platform (docker buildx --platform linux/amd64,linux/arm64): the build stage runs on the
# builder's own platform and cross-compiles with `deno compile --target`, without emulation.

ARG DENO_VERSION=2.9.6

FROM --platform=$BUILDPLATFORM denoland/deno:${DENO_VERSION} AS build
ARG TARGETARCH
ENV DENO_NO_UPDATE_CHECK=1
WORKDIR /app
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY src/ src/
# same permissions as the `compile` task in deno.json
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && deno compile --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run \
      --include src/pipeline/encode_worker.ts --target "$target" --output /out/rivet src/main.ts \
 && mkdir -p /out/work

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/rivet /usr/local/bin/rivet
# the working directory: mount the config (and a local destination) here; state and run reports
# are written next to the config, so it must be writable by the nonroot user (uid 65532)
COPY --from=build --chown=65532:65532 /out/work /work
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/rivet"]
CMD ["--help"]
