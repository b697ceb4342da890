# syntax=docker/dockerfile:1
#
# leadflow worker image.
#
#   docker build -t leadflow:0.1.0 .
#   docker run --rm -p 127.0.0.1:6066:6066 -e LEADFLOW_BROKER=kafka://host:9092 leadflow:0.1.0
#
# Entry point is the `leadflow` CLI; the default command is `worker`, so
# `docker run leadflow:0.1.0 topics create` or `... demo` run the other subcommands.
#
# Two stages: the build stage resolves and installs every dependency into a virtualenv
# (rocksdict, fastavro etc. ship manylinux wheels, so no compiler is needed); the runtime
# stage copies that virtualenv and the source tree and nothing else (no pip cache, no
# build files).

ARG PYTHON_IMAGE=python:3.11.14-slim

FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app

# Dependencies first, in their own layer, so editing code does not reinstall them:
# install the project from pyproject.toml with empty packages, then drop the project
# itself and keep its dependencies.
COPY pyproject.toml README.m[d] ./
RUN mkdir -p streams agents \
    && touch streams/__init__.py agents/__init__.py README.md \
    && pip install . \
    && pip uninstall -y leadflow \
    && rm -rf build *.egg-info

# The project itself: packages and the data folders they read at run time.
COPY streams/ streams/
COPY agents/ agents/
COPY schemas/ schemas/
COPY policy/ policy/

# streams/paths.py finds schemas/ and policy/ beside the `streams` package, so the project
# is installed in place (editable) from /app rather than copied into site-packages without
# its data folders. Dependencies are already present; this only links /app and writes the
# `leadflow` console script.
RUN pip install --no-deps -e . \
    && python -m compileall -q streams agents \
    && rm -rf build


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="leadflow" \
      org.opencontainers.image.description="Event-driven lead scoring, qualification and sales hand-off on Kafka" \
      org.opencontainers.image.licenses="Apache-2.0"

# The settings default to listening on 127.0.0.1 (right for a laptop); in a container the
# web server must listen on every interface or nothing outside can reach it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LEADFLOW_DATA_DIR=/var/lib/leadflow \
    LEADFLOW_WEB_HOST=0.0.0.0 \
    LEADFLOW_WEB_PORT=6066

# A fixed, unprivileged uid/gid (Kubernetes runAsUser/fsGroup use the same numbers).
RUN groupadd --system --gid 10001 leadflow \
    && useradd --system --uid 10001 --gid leadflow --home-dir /var/lib/leadflow \
       --no-create-home --shell /usr/sbin/nologin leadflow \
    && mkdir -p /var/lib/leadflow \
    && chown leadflow:leadflow /var/lib/leadflow

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

WORKDIR /app
USER 10001:10001

# RocksDB tables (changelog-backed; a fresh volume is rebuilt from Kafka on start).
VOLUME ["/var/lib/leadflow"]

# Web server: /metrics, /health/live, /health/ready, /leads/{id}, /kpis.
EXPOSE 6066

# No curl in the slim image: ask the liveness endpoint with the standard library.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('LEADFLOW_WEB_PORT', '6066'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["leadflow"]
CMD ["worker"]
