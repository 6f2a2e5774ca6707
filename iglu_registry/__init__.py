"""Iglu schema keys, SchemaVer, repositories, resolver, validation, lint, compatibility, server.

Imports nothing else of this project, so any Iglu client can use it alone.
"""
