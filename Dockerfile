# The disclosure service. Production settings come from the environment (DISCLOSURE_*).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv disclosure \
    && mkdir -p /srv/var && chown disclosure /srv/var
COPY --from=build /install /usr/local
WORKDIR /srv
USER disclosure
# MALLOC_ARENA_MAX: glibc gives each busy thread its own malloc arena, which keeps what
# it frees; with the upload threads that took serve's peak RSS from 137 to 155 MB
# (bench/archive.py).
ENV DISCLOSURE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    DISCLOSURE_DATA_DIR=/srv/var \
    DISCLOSURE_HOST=0.0.0.0 \
    DISCLOSURE_PORT=8000 \
    DISCLOSURE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["disclosure", "serve"]
