# A stand-in for the public postgres:15 image, for machines with no image registry (test/deploy/compose.sh):
# Debian's PostgreSQL 15 on a local base image, initialised from the same POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB variables and the same data directory as the public image.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# No cluster at install: the package would make one at build time, on a port chosen by what the build host had
# in use (5433 next to a host PostgreSQL), and pg_isready (the healthcheck) would then ask that port.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main-cluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
