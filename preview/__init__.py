"""The preview domain: models, naming, repository config, rollout mapping and the ports.

Nothing in this package imports Flask, Celery, Redis, PyGithub or the Kubernetes client.
"""
