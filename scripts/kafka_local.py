"""A real Apache Kafka broker for tests and the demo, without Docker.

The broker jars come from Maven Central (pinned version, cached under
``.cache/kafka/<version>/``); the broker runs as one KRaft node (broker and
controller combined) on 127.0.0.1 with its state under ``.run/kafka/``. Every
``start`` formats a fresh data directory, so a run never sees topics left over
from an earlier one; ``restart`` stops the broker and starts it again on the same
ports with the same data (topics, committed offsets and open transactions survive),
as an operator's restart would.

``SPTK_KAFKA_RUN_DIR`` puts the state elsewhere, so a test can run a second,
private broker (and stop it) without touching the shared one.

``--secure`` (or ``SPTK_KAFKA_SECURE=1``) runs a broker that authenticates and authorizes:
SASL/PLAIN on every listener and KRaft's ``StandardAuthorizer`` with no access unless an ACL
grants it. Its state lives in ``.run/kafka-secure/`` (never the plain broker's), and its users are
``admin`` (the super user the toolkit's admin commands use), ``reader`` and ``stranger``, each
with a fresh random password in ``<run dir>/credentials/<user>``: a file a config names with
``"sasl.password_file"``, so no password is written in a config.

Usage: scripts/kafka-local {fetch|start|restart|stop|status|bootstrap} [--secure]
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"
CACHE = ROOT / ".cache" / "kafka" / KAFKA_VERSION
LIBS = CACHE / "libs"
COMPLETE = CACHE / ".complete"
SECURE = os.environ.get("SPTK_KAFKA_SECURE", "") not in ("", "0") or "--secure" in sys.argv[1:]
RUN = Path(os.environ.get("SPTK_KAFKA_RUN_DIR") or ROOT / ".run" / ("kafka-secure" if SECURE else "kafka")).resolve()
PIDFILE = RUN / "broker.pid"
CREDENTIALS = RUN / "credentials"
#: the secured broker's users: the super user first (it also authenticates the broker to its controller)
SECURE_USERS = ("admin", "reader", "stranger")
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
BOOTSTRAP_FILE = RUN / "bootstrap"
HEAP = os.environ.get("SPTK_KAFKA_HEAP", "-Xmx512m -Xms256m").split()
READY_TIMEOUT_S = float(os.environ.get("SPTK_KAFKA_READY_TIMEOUT", "120"))

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sptk</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def say(msg: str) -> None:
    print(f"kafka-local: {msg}", flush=True)


def fail(msg: str, code: int = 1) -> None:
    print(f"kafka-local: ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def fetch() -> None:
    """Download the broker's runtime jars once; later calls reuse the cache."""
    if COMPLETE.exists():
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        fail("Maven ('mvn') is not on PATH; install it (apt-get install maven) so the broker jars can be fetched.",
             2)
    java = shutil.which("java")
    if java is None:
        fail("Java is not on PATH; Kafka 4.x needs Java 17 or newer (apt-get install openjdk-17-jre-headless).", 2)
    CACHE.mkdir(parents=True, exist_ok=True)
    if LIBS.exists():
        shutil.rmtree(LIBS)
    (CACHE / "pom.xml").write_text(POM)
    say(f"fetching Apache Kafka {KAFKA_VERSION} broker jars from Maven Central into {LIBS.relative_to(ROOT)}")
    started = time.monotonic()
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(CACHE / "pom.xml"), "dependency:copy-dependencies",
         f"-DoutputDirectory={LIBS}", "-DincludeScope=runtime"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0 or not any(LIBS.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        fail(f"could not fetch org.apache.kafka:kafka_2.13:{KAFKA_VERSION} with Maven (exit {proc.returncode}).\n"
             f"{tail}\nCheck that Maven Central is reachable from this machine, then re-run.", 2)
    # Two slf4j-api versions on one class path make logging pick one at random.
    for jar in LIBS.glob("slf4j-api-*.jar"):
        if SLF4J_VERSION not in jar.name:
            jar.unlink()
    COMPLETE.write_text(KAFKA_VERSION + "\n")
    size = sum(p.stat().st_size for p in LIBS.iterdir()) / 1e6
    say(f"fetched {len(list(LIBS.iterdir()))} jars ({size:.0f} MB) in {time.monotonic() - started:.1f}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def running_pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"kafka.Kafka" not in cmdline.read_bytes():
        return None  # the pid was reused by something else
    return pid


def java_cmd(main_class: str, *args: str, log4j: Path | None = None) -> list[str]:
    cmd = ["java", *HEAP, "-XX:+UseG1GC", "-Djava.awt.headless=true"]
    if log4j is not None:
        cmd.append(f"-Dlog4j2.configurationFile={log4j}")
    cmd += ["-cp", f"{LIBS}/*", main_class, *args]
    return cmd


def write_credentials() -> dict[str, str]:
    """A fresh password per user, each in its own file (mode 0600) under the run dir."""
    CREDENTIALS.mkdir(mode=0o700, parents=True, exist_ok=True)
    passwords = {}
    for user in SECURE_USERS:
        passwords[user] = secrets.token_hex(16)
        path = CREDENTIALS / user
        path.touch(mode=0o600)
        path.write_text(passwords[user] + "\n")
    return passwords


def client_settings(user: str = "admin") -> dict[str, str]:
    """librdkafka settings for a client of this broker (none for the plain one)."""
    if not (CREDENTIALS / user).exists():
        return {}
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": user,
            "sasl.password": (CREDENTIALS / user).read_text().strip()}


def security_props(passwords: dict[str, str]) -> dict[str, str]:
    """SASL/PLAIN on the client and controller listeners, and the StandardAuthorizer, deny by default."""
    admin = passwords["admin"]
    users = " ".join(f'user_{u}="{p}"' for u, p in passwords.items())
    login = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" ' \
            f'password="{admin}"'
    return {
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": f"{login} {users};",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": f'{login} user_admin="{admin}";',
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin",
        "allow.everyone.if.no.acl.found": "false",
    }


def write_config(port: int, controller_port: int, passwords: dict[str, str] | None = None) -> Path:
    data = RUN / "data"
    protocol = "SASL_PLAINTEXT" if passwords else "PLAINTEXT"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"{protocol}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"{protocol}://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.flush.interval.messages": "9223372036854775807",
    }
    if passwords:
        props.update(security_props(passwords))
    path = RUN / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def start() -> None:
    pid = running_pid()
    if pid is not None and BOOTSTRAP_FILE.exists():
        say(f"already running (pid {pid}) at {BOOTSTRAP_FILE.read_text().strip()}")
        return
    fetch()
    if RUN.exists():
        shutil.rmtree(RUN)
    (RUN / "logs").mkdir(parents=True)
    port, controller_port = free_port(), free_port()
    passwords = write_credentials() if SECURE else None
    config = write_config(port, controller_port, passwords)
    log4j = RUN / "log4j2.properties"
    log4j.write_text(LOG4J2.format(log=RUN / "logs" / "server.log"))

    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    fmt = subprocess.run(
        java_cmd("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), "--standalone",
                 log4j=log4j),
        capture_output=True, text=True,
    )
    if fmt.returncode != 0:
        fail(f"formatting the KRaft storage failed (exit {fmt.returncode}):\n{fmt.stdout}{fmt.stderr}")
    launch(config, log4j, port)


def restart() -> None:
    """Stop the broker and start it again from the same config and data directory (no format)."""
    config, log4j = RUN / "server.properties", RUN / "log4j2.properties"
    if not config.exists():
        fail(f"nothing to restart: no broker was started with its state in {RUN}; use start")
    stop(quiet=True)
    listeners = next(line for line in config.read_text().splitlines() if line.startswith("listeners="))
    launch(config, log4j, int(listeners.split(",")[0].rsplit(":", 1)[1]))


def launch(config: Path, log4j: Path, port: int) -> None:
    """Run the broker of ``config`` in its own session and wait until it answers a metadata request."""
    started = time.monotonic()
    out = open(RUN / "logs" / "stdout.log", "ab")  # noqa: SIM115 - the broker owns it after the fork
    proc = subprocess.Popen(java_cmd("kafka.Kafka", str(config), log4j=log4j), stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    PIDFILE.write_text(f"{proc.pid}\n")
    bootstrap = f"127.0.0.1:{port}"

    from toolkit.kafka import KafkaUnavailable, wait_until_ready, warm_up_producer_ids

    deadline = started + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            log = (RUN / "logs" / "server.log")
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
            fail(f"the broker exited with code {proc.returncode} while starting. Last log lines "
                 f"({log}):\n{tail}")
        try:
            wait_until_ready(bootstrap, timeout_s=min(5.0, max(0.5, deadline - time.monotonic())),
                         settings=client_settings())
            break
        except KafkaUnavailable:
            if time.monotonic() > deadline:
                stop(quiet=True)
                fail(f"the broker did not answer a metadata request within {READY_TIMEOUT_S:.0f}s; "
                     f"see {RUN / 'logs' / 'server.log'}")
    try:
        warm_up_producer_ids(bootstrap, timeout_s=max(5.0, deadline - time.monotonic()), settings=client_settings())
    except KafkaUnavailable as exc:
        stop(quiet=True)
        fail(f"{exc}; see {RUN / 'logs' / 'server.log'}")
    BOOTSTRAP_FILE.write_text(bootstrap + "\n")
    say(f"Apache Kafka {KAFKA_VERSION} ready at {bootstrap} (pid {proc.pid}) "
        f"in {time.monotonic() - started:.1f}s")
    if CREDENTIALS.exists():
        say(f"secured: SASL_PLAINTEXT with mechanism PLAIN and the StandardAuthorizer (no access without an ACL); "
            f"users {', '.join(SECURE_USERS)} (admin is the super user), each password in {CREDENTIALS}/<user>")


def stop(quiet: bool = False) -> None:
    pid = running_pid()
    if pid is None:
        if not quiet:
            say("not running")
        BOOTSTRAP_FILE.unlink(missing_ok=True)
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running_pid() is not None:
        time.sleep(0.2)
    if running_pid() is not None:
        os.killpg(pid, signal.SIGKILL)
        say(f"broker (pid {pid}) did not stop within 30s; killed it")
    elif not quiet:
        say(f"stopped (pid {pid})")
    BOOTSTRAP_FILE.unlink(missing_ok=True)
    PIDFILE.unlink(missing_ok=True)


def status() -> int:
    pid = running_pid()
    if pid is None or not BOOTSTRAP_FILE.exists():
        say("not running")
        return 3
    say(f"running (pid {pid}) at {BOOTSTRAP_FILE.read_text().strip()}")
    return 0


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--secure"]
    cmd = args[0] if args else "status"
    if cmd == "fetch":
        fetch()
        say(f"jars cached in {LIBS.relative_to(ROOT)}")
    elif cmd == "start":
        start()
    elif cmd == "restart":
        restart()
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        return status()
    elif cmd == "bootstrap":
        if running_pid() is None or not BOOTSTRAP_FILE.exists():
            return 3
        print(BOOTSTRAP_FILE.read_text().strip())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
