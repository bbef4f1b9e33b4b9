# The whole Portico suite in one image; the chart picks the component by command.
# Build: docker build -t ghcr.io/portico-dev/portico:0.1.0 .
# NODE_IMAGE: any Debian-based Node >= 22.19 image with npm and Node's headers under /usr/local;
# the offline CI passes the one test/cluster/build.sh makes (no registry is reachable there).
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY speaker/native ./speaker/native
COPY dns/native ./dns/native
COPY lib/native ./lib/native
# The root package's install script builds the two N-API addons (node-gyp): the speaker's
# AF_PACKET/ICMPv6 sockets and the DNS server's batched UDP path.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends libcap2-bin iproute2 \
  && rm -rf /var/lib/apt/lists/* \
  # The speaker's node: file capability CAP_NET_RAW only (raw ARP/ICMPv6 sockets), so the
  # speaker runs as a non-root user with exactly that privilege. Other components use plain node.
  && cp /usr/local/bin/node /usr/local/bin/node-netraw \
  && setcap cap_net_raw=ep /usr/local/bin/node-netraw
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/speaker/native/build/Release ./speaker/native/build/Release
COPY --from=build /app/dns/native/build/Release ./dist/dns/native/build/Release
USER 65532:65532
ENTRYPOINT []
CMD ["node", "dist/controllers/main.js", "--help"]
