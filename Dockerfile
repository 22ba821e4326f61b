# syntax=docker/dockerfile:1
# regiongate: multi-stage build. The build stage compiles TypeScript and drops dev dependencies; the
# runtime stage holds only dist/, production node_modules, package.json and config/, and runs as `node`.
#
#   docker build -t regiongate .
#   docker run --rm -p 8080:8080 -v "$PWD/my-config.yaml:/etc/regiongate/config.yaml:ro" \
#     -e VLLM_US_EAST_1_API_KEY=... regiongate
#   docker run --rm -p 8080:8080 regiongate node dist/cli.js demo      # the demo, no config needed

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no dependency of the gateway or its tests needs one (the bench peers live in bench/package.json).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LISTEN_HOST=0.0.0.0
WORKDIR /app
# Owned by root, so the `node` user can read but not change the code or the baked-in config.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# The default config; mount your own over it (or pass `start --config OTHER`).
COPY config/production.example.yaml /etc/regiongate/config.yaml
USER node
# 8080: the gateway; 9090: the admin API (state, drills, /metrics, dashboard).
EXPOSE 8080 9090
# No curl in slim images: Node's built-in fetch. /healthz answers 503 once a drain starts.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form: node is PID 1 and receives SIGTERM directly, so `docker stop` drains gracefully.
CMD ["node", "dist/cli.js", "start", "--config", "/etc/regiongate/config.yaml"]
