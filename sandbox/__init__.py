"""Local stand-ins for the external services previewbot talks to."""
