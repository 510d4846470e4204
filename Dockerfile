# One image for every Strand app: strand-coordinator, strand-broker, strand-console and the
# strand CLI. Build from the repository's root: docker build -t strand .
# The image runs as the unprivileged user `node`; tini is PID 1 and forwards SIGTERM to Node,
# so `docker stop` and a Kubernetes pod deletion start a controlled shutdown.

FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm exec turbo run build --filter="@strand/cli..."

# The runtime tree: the build's dist folders with production dependencies only.
FROM node:22-bookworm-slim AS prune
WORKDIR /app
RUN npm install -g pnpm@10.34.9
COPY --from=build /app /app
RUN rm -rf node_modules apps/*/node_modules packages/*/node_modules tooling/*/node_modules \
  && pnpm install --frozen-lockfile --prod --filter "@strand/cli..."

FROM node:22-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=prune /app /app
RUN ln -s /app/apps/coordinator/bin/strand-coordinator.js /usr/local/bin/strand-coordinator \
  && ln -s /app/apps/broker/bin/strand-broker.js /usr/local/bin/strand-broker \
  && ln -s /app/apps/console/dist/main.js /usr/local/bin/strand-console \
  && ln -s /app/apps/cli/bin/strand.js /usr/local/bin/strand \
  && mkdir -p /var/lib/strand && chown node:node /var/lib/strand
ENV NODE_ENV=production \
    STRAND_ADMIN_LISTEN=0.0.0.0:9644 \
    STRAND_LOG_FORMAT=json
USER node
VOLUME /var/lib/strand
# 2379 coordinator clients, 2380 Raft, 9092 broker clients, 9093 Kafka clients, 9644 admin
EXPOSE 2379 2380 9092 9093 9644
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["strand", "--help"]
