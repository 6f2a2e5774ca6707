"""Sources, sinks, the tracker-protocol collector and the sidecar runtime.

Builds on ``toolkit`` and ``iglu_registry``; never imported by them.
"""
