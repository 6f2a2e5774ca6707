# The two commands the README starts with: `make demo` and `make test`.
.PHONY: setup demo test lint kafka-start kafka-stop postgres-start postgres-stop bench

setup:
	@bash scripts/setup

# scripts/demo and scripts/test run scripts/setup themselves (they are also run on their own), so these
# targets do not depend on `setup`: it would run, and say "ready", twice.
demo:
	@bash scripts/demo

test:
	@bash scripts/test

lint: setup
	@.venv/bin/ruff check .

kafka-start:
	@scripts/kafka-local start
kafka-stop:
	@scripts/kafka-local stop
postgres-start:
	@scripts/postgres-local start
postgres-stop:
	@scripts/postgres-local stop
