FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install . && python manage.py collectstatic --noinput
RUN useradd --create-home cothon && mkdir -p /app/var && chown -R cothon /app/var
USER cothon
EXPOSE 8000
CMD ["gunicorn", "cothon.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
