# Production image: the same steps as `make run`, with gunicorn (settings in gunicorn.conf.py). The compose file adds
# PostgreSQL, Redis and a worker. At run time set DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS (never in the image):
# with CELLTYPES_ENV=production the settings refuse to start without them.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CELLTYPES_DATA_DIR=/data DJANGO_STATIC_ROOT=/app/var/staticfiles NUMBA_CACHE_DIR=/app/var/numba \
    DJANGO_STATIC_MANIFEST=1
WORKDIR /app

# make and a C++ compiler: NEURON's nrnivmodl compiles Allen's channel mechanisms on the worker (biophysical runs).
RUN apt-get update && apt-get install -y --no-install-recommends make g++ \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app celltypes \
    && mkdir -p /data /app/var/numba \
    && chown -R celltypes /data /app/var

# Production from here on (the build steps above need no secret).
ENV CELLTYPES_ENV=production
USER celltypes

EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py load_demo && gunicorn celltypes.wsgi --bind 0.0.0.0:8000 --workers 3 --threads 4"]
