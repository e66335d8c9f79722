# Governor's image: one image for every role (GOVERNOR_ROLE picks api, agent or all). docker-compose.yml builds
# it. BASE_IMAGE is the public Node image by default; a machine with no registry builds from an image of its
# own with Node 20.19 or newer in /usr/local/bin (test/deploy/compose.sh makes one with debootstrap).
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}
# build-essential: npm ci builds native/ with cc. At run time an agent needs ip and tc (iproute2), nft, and
# losetup, mount, nsenter (util-linux, mount) and mkfs.ext4 and resize2fs (e2fsprogs) for tenant homes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential ca-certificates e2fsprogs iproute2 mount nftables util-linux \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/governor
COPY . .
RUN npm ci && npm run build
CMD ["node", "dist/apps/governor/src/main.js"]
