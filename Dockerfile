# Production image: Node 22 LTS, production dependencies only, runs as the unprivileged "node" user.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# For better-sqlite3, which compiles its native module when no prebuilt binary can be downloaded.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Install scripts: package.json's allowScripts admits better-sqlite3 only. The npm 10 that Node 22 ships predates that
# list and would run every package's scripts; so run none, whichever npm this is, then rebuild exactly the one package
# the list allows. sharp needs no script: its prebuilt libvips binary is an optional dependency for this platform.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json nest-cli.json ./
COPY server ./server
COPY libs ./libs
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 METRICS_PORT=9464
WORKDIR /app
# Owned by root and read-only to the service: a compromised process cannot change its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Both native modules load on this base image, or the build stops here rather than at the first send.
RUN node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get(); require('sharp')"
USER node
EXPOSE 3000 9464
# Liveness, not readiness: /readyz turns 503 while the database is away, and restarting would not bring it back
# (docs/RELIABILITY.md). Point the load balancer's readiness check at /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server/src/main.js"]
