# The Collector image for the CI cluster (skaffold profile ci): the project's own build of the Collector
# (deploy/collector/builder.yaml, scripts/tools/20-collector.sh) on the local runtime base, because no registry
# serves otel/opentelemetry-collector-contrib here. Context: a folder holding the otelcol-tracemesh binary
# (scripts/ci-collector-image.sh makes it).
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="tracemesh-otelcol" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
COPY otelcol-tracemesh /otelcol-tracemesh
USER 10001:10001
ENTRYPOINT ["/otelcol-tracemesh"]
