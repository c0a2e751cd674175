"""The dashboard at ``/previews``: live previews, their history and buttons, behind a GitHub sign-in."""
