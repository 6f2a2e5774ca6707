# The two commands the README starts with: `make demo` and `make test`.
.PHONY: setup demo test lint kafka-start kafka-stop postgres-start postgres-stop bench

setup:
	@bash scripts/setup

demo: setup
	@bash scripts/demo

test: setup
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
