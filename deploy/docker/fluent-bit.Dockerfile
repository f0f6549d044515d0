# The Fluent Bit image for the CI cluster (skaffold profile ci): the project's own build of the pinned release
# (scripts/tools/21-fluent-bit.sh) on the local runtime base, because no registry serves fluent/fluent-bit here.
# The binary is dynamically linked (OpenSSL, libyaml, SQLite): the context also holds the shared libraries it
# links, taken from the Debian system it was built on (bookworm, as the base). Context: made by
# scripts/ci-fluent-bit-image.sh. Users keep the official image (fluent/fluent-bit, same version).
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="tracemesh-fluent-bit" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
COPY lib/ /usr/lib/x86_64-linux-gnu/
COPY fluent-bit /fluent-bit/bin/fluent-bit
COPY parsers.conf /fluent-bit/etc/parsers.conf
# The official image's layout: /fluent-bit/bin/fluent-bit, configuration under /fluent-bit/etc. The DaemonSet
# runs it as root (the node's log files are root's), with no capabilities.
ENTRYPOINT ["/fluent-bit/bin/fluent-bit"]
# (not the base's `node`): the DaemonSet passes -c <its configuration>.
CMD ["--help"]
