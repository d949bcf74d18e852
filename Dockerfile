# One image for every process type (web, migrate, workers), run as `node --import tsx <entry>` like the Procfile.
# Two targets: `app` (everything but the browser worker) and `browser` (app + Debian's Chromium), so the other
# processes do not carry a ~400 MB browser they never start.
#
#   docker build --target app -t takos-runtime .
#   docker build --target browser -t takos-runtime-browser .

FROM node:20-bookworm-slim AS app
ENV NODE_ENV=production \
    TAKOS_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8787
WORKDIR /app
# Dependencies first, so code changes do not re-run npm ci. tsx is a runtime dependency (the entries are .ts).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY . .
# The data folder holds the generated service-token secret when SERVICE_TOKEN_SECRET is not set; a named volume
# mounted here inherits this ownership, so the unprivileged user can write it.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8787
CMD ["node", "--import", "tsx", "web.ts"]

FROM app AS browser
USER root
# Debian's Chromium (the browser worker drives it with puppeteer-core; no browser download at install time).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV CHROMIUM_PATH=/usr/bin/chromium
USER node
CMD ["node", "--import", "tsx", "worker.ts", "browser"]
