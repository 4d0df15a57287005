# One image for the API, the worker and the migrate one-shot; docker-compose.yml picks
# the command. Dependencies are installed from constraints.txt, the same pins as the
# tests.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# The dependency layer changes only with the pins, so code edits rebuild in seconds.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir api workflows_runtime activities embedded \
    && touch worker.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y auterity-orchestrator

COPY api ./api
COPY workflows_runtime ./workflows_runtime
COPY activities ./activities
COPY embedded ./embedded
COPY worker.py ./

RUN useradd --system --no-create-home --home-dir /app auterity \
    && mkdir -p /app/.data && chown auterity /app/.data
USER auterity

EXPOSE 8000 9464
# SIGTERM (Docker's default stop signal) drains the API's requests and the worker's
# activities; see stop_grace_period in docker-compose.yml.
CMD ["uvicorn", "--factory", "api.app:app_factory", "--host", "0.0.0.0", "--port", "8000"]
