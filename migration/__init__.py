"""The legacy path, shadow runs, the reconciliation engine and its reports.

The top of the import order: it may use every other package, and none uses it.
"""
