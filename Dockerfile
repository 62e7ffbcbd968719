# gslb: build with the Rust toolchain, ship only the binary on Debian slim.
#
#   docker build -t gslb .
#   docker run --rm -v "$PWD/docker/ns1:/etc/gslb:ro" -v "$PWD/docker/shared:/etc/shared:ro" \
#     -p 127.0.0.1:5300:53/udp gslb
#
# The image runs as the unprivileged user `gslb` and expects its configuration at
# /etc/gslb/gslb.toml (mount a directory there). State (drained endpoints) goes where the
# config's `state_directory` says; /var/lib/gslb is created for it, owned by `gslb`.
# Binding port 53 as non-root relies on Docker's default
# net.ipv4.ip_unprivileged_port_start=0 (set it explicitly, as docker-compose.yml does, or grant
# CAP_NET_BIND_SERVICE, or listen on a port above 1023).

FROM rust:1-slim-bookworm AS build
# protoc and the protobuf headers: the etcd client's build script compiles etcd's .proto files.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler libprotobuf-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gslb \
 && install -m 0755 target/release/gslb /usr/local/bin/gslb \
 && /usr/local/bin/gslb --version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10053 --home-dir /var/lib/gslb --no-create-home \
      --shell /usr/sbin/nologin gslb \
 && install -d -o root -g root -m 0755 /etc/gslb \
 && install -d -o gslb -g gslb -m 0750 /var/lib/gslb
COPY --from=build /usr/local/bin/gslb /usr/local/bin/gslb
COPY --from=build /src/docs/*.1 /usr/local/share/man/man1/
USER gslb:gslb
WORKDIR /var/lib/gslb
# DNS on 53 (UDP and TCP), the admin API on 8053.
EXPOSE 53/udp 53/tcp 8053/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gslb"]
CMD ["serve", "-c", "/etc/gslb/gslb.toml"]
