"""Data subject requests (forget) and retention over the stores the toolkit writes, with an append-only audit."""
