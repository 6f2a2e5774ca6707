"""Sources, the files output, the warehouse loader, the pipeline runner and the sidecar runtime.

Builds on ``toolkit`` and ``iglu_registry``; never imported by them.
"""
