"""The pipeline stages: validate, policy, route, and the outcome that names what became of a record.

``fanout.Pipeline.process`` composes them as a pure function of one record; ``delivery`` decides
which source positions may be committed once the outputs are confirmed.
"""
