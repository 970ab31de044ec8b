# Dockerfile: the stampede image (docs/distributed.md, "Container image"): the binary
# built on Debian 12, run on debian:bookworm-slim with only the shared libraries it links
# (as a non-root user). `stampede k8s render` uses it for every pod (--image).
#   docker build -t REGISTRY/stampede:TAG . && docker push REGISTRY/stampede:TAG
#   make image    # podman without Docker Hub: scripts/build-image.sh
# tests/e2e/test_k8s.py checks that the runtime packages below provide every library
# `ldd stampede` lists: a new library in the Makefile needs its package here too
# (STAMPEDE_IMAGE_TEST=1: it builds the image, under 60 MB compressed).

FROM debian:bookworm AS build
# the -dev packages of the Makefile's PKGS and LDLIBS (as scripts/install-deps.sh)
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        make gcc libc6-dev pkg-config \
        liblua5.4-dev libjansson-dev libssl-dev zlib1g-dev liburiparser-dev \
        libc-ares-dev libbrotli-dev libzstd-dev libcurl4-openssl-dev libsqlite3-dev \
        libgsl-dev liburing-dev libmicrohttpd-dev libnghttp2-dev libwslay-dev \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src ./src
RUN make -j"$(nproc)" BUILD=build OPT=-O2 \
    && strip build/stampede

FROM debian:bookworm-slim
# one runtime package per library the binary links (readelf -d: NEEDED), their own
# dependencies come along; apt's caches, indexes and logs and dpkg's backups are removed
# in the same layer (whatever the base's apt configuration)
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        liblua5.4-0 libjansson4 libssl3 zlib1g liburiparser1 libc-ares2 libbrotli1 \
        libzstd1 libcurl4 libsqlite3-0 libgsl27 liburing2 libmicrohttpd12 libnghttp2-14 libwslay1 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
        /var/cache/apt/archives/partial/* /var/cache/debconf/*-old /var/lib/dpkg/*-old \
        /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log \
    && groupadd --gid 10001 stampede \
    && useradd --no-log-init --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin stampede
# the CA bundle for https:// targets, without the ca-certificates package (which brings the
# openssl tool); libssl3 alone has no default path for it, hence SSL_CERT_FILE
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/build/stampede /usr/local/bin/stampede
COPY LICENSE /usr/share/doc/stampede/LICENSE
COPY examples /usr/share/stampede/examples
# the uid the manifests of `stampede k8s render` run as (runAsUser 10001)
USER 10001:10001
WORKDIR /home/stampede
ENTRYPOINT ["stampede"]
CMD ["--help"]
