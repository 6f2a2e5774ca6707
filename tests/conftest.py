"""Shared fixtures: where the real services and the shared fixtures are.

Integration tests get a real broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else the
project's local broker (started here if it is not running, and stopped again at
the end), else a testcontainers broker when a Docker engine answers. In CI (see
:func:`tests.ci.in_ci`) a missing service or missing shared data fails the run
instead of skipping it, so a green CI always means every test ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci import unavailable

ROOT = Path(__file__).resolve().parent.parent
#: Snowplow's fixtures and the Iglu Central copy; ``SPTK_SHARED_DIR`` points elsewhere
SHARED = Path(os.environ.get("SPTK_SHARED_DIR") or ROOT.parent / "shared")
#: golden files are rewritten by scripts/update-golden, never by a test run
GOLDEN_UPDATE_VARIABLE = "SPTK_UPDATE_GOLDEN"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(GOLDEN_UPDATE_VARIABLE, "") not in ("", "0"):
        raise pytest.UsageError(f"{GOLDEN_UPDATE_VARIABLE} is set, but a test run never rewrites golden files: "
                                "run scripts/update-golden (see tests/cases/README.md), then unset it")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (Iglu Central and Snowplow's own fixtures): skipped with a reason when absent, failed in CI."""
    if not (SHARED / "fixtures").is_dir():
        unavailable(f"{SHARED} is absent: the shared Snowplow fixtures and Iglu Central copy are not here "
                    "(set SPTK_SHARED_DIR if they are elsewhere)")
    return SHARED


@pytest.fixture(scope="session")
def iglu_central(shared_dir: Path) -> Path:
    return shared_dir / "iglu-central" / "schemas"


@pytest.fixture(scope="session")
def enriched_fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "enriched"


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        yield env
        return
    script = ROOT / "scripts" / "kafka_local.py"
    status = subprocess.run([sys.executable, str(script), "bootstrap"], capture_output=True, text=True)
    if status.returncode == 0:
        yield status.stdout.strip()
        return
    started = subprocess.run([sys.executable, str(script), "start"], capture_output=True, text=True)
    if started.returncode == 0:
        bootstrap = subprocess.run([sys.executable, str(script), "bootstrap"], capture_output=True,
                                   text=True).stdout.strip()
        try:
            yield bootstrap
        finally:
            subprocess.run([sys.executable, str(script), "stop"], capture_output=True)
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    unavailable(f"no Kafka broker: KAFKA_BOOTSTRAP_SERVERS is unset, the local broker did not start "
                 f"({started.stderr.strip()[-500:]}), and no Docker engine answers")


@dataclass(frozen=True)
class LocalBroker:
    """A broker of ``scripts/kafka_local.py`` with its own state directory, which a test may stop and restart."""

    run_dir: Path
    bootstrap: str

    def command(self, name: str) -> None:
        env = {**os.environ, "SPTK_KAFKA_RUN_DIR": str(self.run_dir)}
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "kafka_local.py"), name], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, f"kafka_local.py {name}: {done.stdout}{done.stderr}"

    def stop(self) -> None:
        self.command("stop")

    def restart(self) -> None:
        """Start it again on the same port with the same data (topics, committed offsets, open transactions)."""
        self.command("restart")


@contextmanager
def _private_broker(run_dir: Path, *options: str) -> Iterator[str]:
    """``scripts/kafka_local.py start`` with its state in ``run_dir``; its bootstrap, and stopped at the end."""
    env = {**os.environ, "SPTK_KAFKA_RUN_DIR": str(run_dir),
           "SPTK_KAFKA_HEAP": os.environ.get("SPTK_KAFKA_HEAP", "-Xmx256m -Xms128m")}
    script = str(ROOT / "scripts" / "kafka_local.py")
    started = subprocess.run([sys.executable, script, "start", *options], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        unavailable(f"a private broker of scripts/kafka_local.py {' '.join(options)} did not start: "
                    f"{started.stderr.strip()[-500:]}")
    try:
        yield (run_dir / "bootstrap").read_text().strip()
    finally:
        subprocess.run([sys.executable, script, "stop"], env=env, capture_output=True)


@pytest.fixture
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A second, private broker for a test that takes its broker away; the shared one is never stopped."""
    run_dir = tmp_path_factory.mktemp("kafka-private")
    with _private_broker(run_dir) as bootstrap:
        yield LocalBroker(run_dir, bootstrap)


@dataclass(frozen=True)
class SecureBroker:
    """A private broker of ``scripts/kafka_local.py --secure``: SASL/PLAIN, StandardAuthorizer, deny by default."""

    run_dir: Path
    bootstrap: str

    def password_file(self, user: str) -> Path:
        return self.run_dir / "credentials" / user

    def client(self, user: str) -> dict[str, str]:
        """librdkafka settings that authenticate as ``user`` (admin, reader or stranger)."""
        return {"bootstrap.servers": self.bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                "sasl.username": user, "sasl.password": self.password_file(user).read_text().strip()}


@pytest.fixture
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """A private secured broker on its own ports and run dir; the shared plain broker is never touched."""
    run_dir = tmp_path_factory.mktemp("kafka-secure")
    with _private_broker(run_dir, "--secure") as bootstrap:
        yield SecureBroker(run_dir, bootstrap)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    env = os.environ.get("SPTK_POSTGRES_URL")
    if env:
        yield env
        return
    script = ROOT / "scripts" / "postgres-local"
    status = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True)
    if status.returncode == 0:
        yield status.stdout.strip()
        return
    started = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        unavailable(f"no PostgreSQL: SPTK_POSTGRES_URL is unset and scripts/postgres-local start failed: "
                     f"{started.stderr.strip()[-500:]}")
    url = subprocess.run(["bash", str(script), "url"], capture_output=True, text=True).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run(["bash", str(script), "stop"], capture_output=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)
