# syntax=docker/dockerfile:1
# The ECG backend. The build stage runs scripts/release.sh, the same script test/release runs in CI,
# so the image holds exactly the release the tests started with plain node. docs/deploy.md.
#
#   docker build -t ecg-backend .
#   docker run -p 8000:8000 -e DATABASE_URL=postgres://... ecg-backend
#
# The same image runs the reference ML server: `node examples/ml-server/dist/cli.js` (compose.yaml).

FROM node:20-slim AS build
WORKDIR /src
# Dependencies first, so a source change reuses this layer. --ignore-scripts: the root `prepare`
# would build here, and the release script builds below anyway.
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/package.json
COPY examples/ml-server/package.json examples/ml-server/package.json
COPY clients/cli/package.json clients/cli/package.json
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN bash scripts/release.sh /release

FROM node:20-slim
# The release is owned by root and read-only to the service; only DATA_DIR is writable (the
# embedded PostgreSQL and storage, used when DATABASE_URL and S3_BUCKET_NAME are not set).
WORKDIR /app
COPY --from=build /release /app
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0 DATA_DIR=/data
USER node
EXPOSE 8000
# Readiness, not liveness: a replica that lost its database reports unhealthy and drops out of
# a load balancer that follows the health status.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/server/main.js"]
