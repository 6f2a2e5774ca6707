"""``sptk audit``: what an event estate holds, the report a team reads before planning a migration (docs/audit.md).

Modules: :mod:`~migration.audit.source` opens what is audited, :mod:`~migration.audit.queries` holds the SQL
the database runs, :mod:`~migration.audit.schemas` compares the schemas used with the registry and the governance
file, :mod:`~migration.audit.rules` holds the naming conventions, :mod:`~migration.audit.engine` puts the
report together and :mod:`~migration.audit.run` wires them.
"""
