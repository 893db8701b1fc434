"""Template for a new service: copy this folder to `services/<name>/` and follow docs/adding-a-service.md.

Owns: nothing yet.
"""
