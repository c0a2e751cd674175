"""Adapters that connect the preview domain to templates, Kubernetes and GitHub."""
