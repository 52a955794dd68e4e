# otel-desk-receiver image: build a virtualenv in one stage, copy it into a clean slim one.
# Published for linux/amd64 and linux/arm64 as ghcr.io/otel-desk-receiver/otel-desk-receiver:<version> by
# .github/workflows/release.yml; your own build: docker build -t otel-desk-receiver:0.2.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/otel-desk-receiver
COPY pyproject.toml README.md ./
COPY otel_desk_receiver ./otel_desk_receiver
RUN /opt/otel-desk-receiver/bin/pip install . \
    && /opt/otel-desk-receiver/bin/pip uninstall --yes pip setuptools wheel

FROM ${PYTHON_IMAGE}
# A fixed non-root UID/GID, matching the Helm chart's securityContext (10001).
RUN groupadd --system --gid 10001 desk \
    && useradd --system --uid 10001 --gid desk --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin desk \
    && mkdir -p /var/lib/otel-desk-receiver \
    && chown 10001:10001 /var/lib/otel-desk-receiver
COPY --from=build /opt/otel-desk-receiver /opt/otel-desk-receiver
ENV PATH=/opt/otel-desk-receiver/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DESK_STATE_PATH=/var/lib/otel-desk-receiver/state.json
# The checkpoints: mount a volume here, or a restart forgets where each bot was.
VOLUME ["/var/lib/otel-desk-receiver"]
USER 10001:10001
# /healthz and /readyz (DESK_HEALTH_ADDR).
EXPOSE 13133
# Liveness from /healthz on the port DESK_HEALTH_ADDR names; with the endpoints turned off
# (DESK_HEALTH_ADDR empty) there is nothing to ask, so the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; addr = os.environ.get('DESK_HEALTH_ADDR', '0.0.0.0:13133'); sys.exit(0) if not addr else urllib.request.urlopen('http://127.0.0.1:%s/healthz' % addr.rpartition(':')[2], timeout=4)"]
ENTRYPOINT ["otel-desk-receiver"]
CMD ["run"]
