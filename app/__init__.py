"""The application: settings, ingest, digest planning and delivery, scheduled jobs."""
