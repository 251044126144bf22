# The disclosure service. Production settings come from the environment (DISCLOSURE_*).
#
# Every Python package comes from the lock files, each checked against its SHA-256:
# requirements.lock (the runtime) and requirements-build.lock (the build backend);
# `make lock` regenerates both. The build stage is thrown away; the image keeps
# /opt/disclosure, a virtual environment without pip.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
RUN python -m venv --without-pip /opt/disclosure \
    && pip install --no-cache-dir --require-hashes -r requirements-build.lock \
    && pip --python /opt/disclosure/bin/python install --no-cache-dir --require-hashes \
        -r requirements.lock
COPY pyproject.toml README.md ./
COPY service ./service
# --no-deps: every dependency is already installed from the lock; `pip check` fails the
# build when the lock no longer satisfies what pyproject.toml asks for.
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && pip --python /opt/disclosure/bin/python install --no-cache-dir --no-deps /wheels/*.whl \
    && pip --python /opt/disclosure/bin/python check

FROM python:3.11-slim
# tini is PID 1: it passes SIGTERM on to the service (a Python process as PID 1 that has
# no handler, such as `disclosure tick`, would ignore it) and reaps orphaned children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 disclosure \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv --no-create-home disclosure \
    && mkdir -p /srv/var \
    && chown 10001:10001 /srv/var
COPY --from=build /opt/disclosure /opt/disclosure
WORKDIR /srv
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# MALLOC_ARENA_MAX: glibc gives each busy thread its own malloc arena, which keeps what
# it frees; with the upload threads that took serve's peak RSS from 137 to 155 MB
# (bench/archive.py).
# PYTHONDONTWRITEBYTECODE: the root filesystem may be read-only (the bytecode was
# compiled at install).
ENV PATH=/opt/disclosure/bin:$PATH \
    DISCLOSURE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    DISCLOSURE_DATA_DIR=/srv/var \
    DISCLOSURE_HOST=0.0.0.0 \
    DISCLOSURE_PORT=8000 \
    DISCLOSURE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
# For the API (`serve`); compose turns it off for the worker and tick containers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('DISCLOSURE_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4).status != 200)"]
ENTRYPOINT ["tini", "--"]
CMD ["disclosure", "serve"]
