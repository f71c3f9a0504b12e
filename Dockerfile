# Production image: the same steps as `make run`, with gunicorn. The compose file adds PostgreSQL, Redis and a worker.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CELLTYPES_DATA_DIR=/data DJANGO_STATIC_ROOT=/app/var/staticfiles DJANGO_STATIC_MANIFEST=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py load_demo && gunicorn celltypes.wsgi --bind 0.0.0.0:8000 --workers 3 --threads 4"]
