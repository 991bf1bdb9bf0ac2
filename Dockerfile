# CZT Digest: slim Python, non-root, SQLite on the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CZT_DB=/data/czt.db \
    MPLBACKEND=Agg

WORKDIR /app
# A CJK font so the digest charts carry Chinese labels.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY bot.py ./
COPY domain ./domain
COPY analysis ./analysis
COPY digests ./digests
COPY feeds ./feeds
COPY storage ./storage
COPY app ./app
COPY handlers ./handlers
COPY channels ./channels
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 czt \
    && mkdir -p /data && chown czt:czt /data

USER czt
VOLUME ["/data"]

# Healthy when the database opens and passes SQLite's integrity check.
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 \
    CMD ["python", "bot.py", "health"]

ENTRYPOINT ["python", "bot.py"]
CMD ["run"]
