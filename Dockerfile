# The gateway in a container: built in a throw-away stage, run from a stage that holds only node,
# the production dependencies and the compiled gateway, as the unprivileged `node` user.
# test/tooling/dockerfile.test.ts runs these steps on the host (no container runtime there); it
# understands FROM, WORKDIR, COPY, RUN, USER, VOLUME, EXPOSE, ENTRYPOINT and CMD only.
#   docker build -t pushgateway-ts .
#   docker run -p 9091:9091 -v pushgateway-data:/data pushgateway-ts

# Build: dev dependencies and the TypeScript compiler, used here and left behind.
FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Two protobuf tests in src/ use the test helpers; the rest of test/ is not needed to build.
COPY test/support ./test/support
RUN npm run build

# Production dependencies only; installed without running package scripts' build steps.
FROM node:20-bookworm-slim AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json ./
COPY --from=deps /deps/node_modules ./node_modules
COPY --from=build /build/dist/src ./dist/src
# The persistence file's directory, writable by the user the gateway runs as.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 9091
# Exec form: node is PID 1 and receives `docker stop`'s SIGTERM itself; the gateway handles it
# (graceful stop, persistence file flushed). The flags are those of src/nodeflags.ts.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "--v8-pool-size=1", "dist/src/main.js"]
# Arguments given to `docker run` replace these: keep --persistence.file when adding flags.
CMD ["--persistence.file=/data/metrics.store"]
