# champion server, for deploy/compose.yaml or any container platform.
#
#     docker build -t champion:local .
#     docker run -p 8000:8000 -e CHAMPION_DATABASE_URL=postgresql://... champion:local
#
# BASE can name another Python 3.11 image (a mirror, or one built locally when no registry
# is reachable): docker build --build-arg BASE=localhost/python:3.11 ...
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own, without a login shell; the only folder it writes is its home.
# /run/champion is where deploy/compose.yaml keeps Prometheus's token (a volume takes the
# folder's owner from the image).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/champion --create-home \
        --shell /usr/sbin/nologin champion \
    && install -d -o champion -g champion -m 755 /run/champion

WORKDIR /opt/champion
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY src ./src
# The versions the test suite ran with (constraints.txt), PostgreSQL and S3 included;
# PIP_CONSTRAINT applies them to the build step's own packages too.
RUN PIP_CONSTRAINT=constraints.txt python -m pip install ".[postgres,s3]" \
    && rm -rf /opt/champion/src /root/.cache

USER champion
# Every replica is reached over the network, so it listens on every address: the server then
# refuses to start until an API token exists (champion tokens create; see deploy/compose.yaml).
ENV CHAMPION_HOME=/var/lib/champion \
    CHAMPION_HOST=0.0.0.0 \
    CHAMPION_PORT=8000 \
    CHAMPION_LOG_FORMAT=json
EXPOSE 8000
# Readiness (a committed database write, the served blobs in the store, no spooled events),
# not mere liveness: an orchestrator sends traffic only while this passes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(u.urlopen(f'http://127.0.0.1:{os.environ[\"CHAMPION_PORT\"]}/v1/health/ready', timeout=2).status != 200)"]
ENTRYPOINT ["champion"]
# A container is one replica: one process, so each /metrics a scrape reads is the whole
# replica's. Scale with replicas (or pass --workers N and scrape accordingly).
CMD ["server", "--workers", "1"]
