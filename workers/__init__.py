"""Process side of previewbot: Celery app and tasks, the enqueue API, the watcher."""
