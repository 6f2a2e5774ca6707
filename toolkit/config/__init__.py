"""The pipeline configuration: pydantic models (``models``) and the key reference generated from them
(``reference``).
"""
