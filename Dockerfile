# syntax=docker/dockerfile:1.7
# Kaleem API / worker / beat image. Multi-stage: build wheels in a throw-away stage, run as non-root.
#   docker build -t ghcr.io/kaleem/kaleem:$(git rev-parse --short HEAD) .

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.txt .
# Test and lint tools stay out of the runtime image.
RUN grep -v -E '^(pytest|pytest-django|factory-boy|hypothesis|playwright|ruff)==' requirements.txt > requirements.runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -r requirements.runtime.txt
COPY . .
RUN DJANGO_SETTINGS_MODULE=kaleem.settings.base STATIC_ROOT=/src/staticfiles \
      /opt/venv/bin/python manage.py collectstatic --noinput -v 0 \
    && (/opt/venv/bin/python manage.py compilemessages -v 0 || true)

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=kaleem.settings.production \
    STATIC_ROOT=/app/staticfiles \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN groupadd --system --gid 10001 kaleem \
    && useradd --system --uid 10001 --gid kaleem --home-dir /app --shell /usr/sbin/nologin kaleem
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=kaleem:kaleem /src /app
USER 10001:10001
EXPOSE 8000 8001 9101
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "compose/healthcheck.py", "http://127.0.0.1:8000/healthz"]
ENTRYPOINT ["/app/compose/entrypoint.sh"]
CMD ["gunicorn", "-c", "compose/gunicorn.conf.py", "kaleem.asgi:application"]
