"""The ``sptk`` command line: the composition root (``root``) and the toolkit's own command groups.
"""
