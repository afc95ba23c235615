# course-sync: one image for every role (receiver, worker, all).
# The app runs its TypeScript sources through tsx (a runtime dependency): there is no build output.
# Node 24, the active LTS, in both stages (dependencies are installed by the Node that runs them);
# README "Node.js and library versions" lists the versions supported and tested.

# --- deps: production dependencies only, from the lock file --------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Files stay owned by root (read-only for the app); the process runs as the image's "node" user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY src ./src
COPY fixtures ./fixtures
# The SendGrid emulator (sandbox mode) reads the published Mail Send schema from here.
COPY reference ./reference
USER node
EXPOSE 3000
# Slim images have no curl: ask /healthz with Node's own fetch, on ADMIN_PORT when health moved
# there. Worker-only containers serve no HTTP; docker-compose.yml turns this check off for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_PORT || process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/course-sync.js", "start", "--role", "all"]
