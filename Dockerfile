# p2pstore image: the CLI as entrypoint (`docker run p2pstore worker`, `... db upgrade`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY p2pstore ./p2pstore
COPY migrations ./migrations
RUN pip install . && useradd --create-home p2pstore
USER p2pstore
ENTRYPOINT ["p2pstore"]
CMD ["--help"]
