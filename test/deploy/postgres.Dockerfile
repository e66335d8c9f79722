# A stand-in for the public postgres:15 image, for machines with no image registry (test/deploy/compose.sh):
# Debian's PostgreSQL 15 on a local base image, initialised from the same POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB variables and the same data directory as the public image.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
