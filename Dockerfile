FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    GUNICORN_CMD_ARGS="--logger-class cothon.gunicorn_logging.RedactingLogger --access-logfile -"
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
# collectstatic needs settings, and settings need keys: throwaway values for this step only
# (the real ones come from .env at run time; nothing is encrypted or signed here).
RUN pip install . \
 && DJANGO_SECRET_KEY=collectstatic-only COTHON_ENCRYPTION_KEYS=collectstatic-only python manage.py collectstatic --noinput
# var/media exists in the image so the media volume is created owned by cothon; var/ is 0700.
RUN useradd --create-home cothon && mkdir -p /app/var/media && chown -R cothon /app/var && chmod 700 /app/var /app/var/media
USER cothon
EXPOSE 8000
CMD ["gunicorn", "cothon.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
