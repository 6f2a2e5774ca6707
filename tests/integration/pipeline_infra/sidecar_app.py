"""A sidecar process for the signal tests: HTTP source -> relay -> a real topic, JSON logs on stderr.

Run as ``python -m tests.integration.pipeline_infra.sidecar_app BOOTSTRAP TOPIC [hang]``; it prints
``{"port": N}`` on stdout once it listens. With ``hang`` the drain never finishes, to test the second signal.
"""

from __future__ import annotations

import json
import sys
import time

from connectors.sidecar import Sidecar, configure_logging, kafka_probe
from connectors.sources import HttpSource
from tests.integration.pipeline_infra.relay import Relay
from toolkit.kafka import DeliveryProducer
from toolkit.pipeline.delivery import DeliveryTracker


class HangingRelay(Relay):
    def drain(self, timeout_s: float) -> bool:
        time.sleep(3600)
        return False


def main() -> int:
    bootstrap, topic = sys.argv[1], sys.argv[2]
    hang = len(sys.argv) > 3 and sys.argv[3] == "hang"
    configure_logging("json", "INFO")
    source = HttpSource(ack_timeout_s=20)
    tracker = DeliveryTracker()
    relay = (HangingRelay if hang else Relay)(source, DeliveryProducer(bootstrap, tracker=tracker), tracker, topic)
    sidecar = Sidecar("127.0.0.1", 0, probes={"kafka": kafka_probe(bootstrap)}, drain_timeout_s=60 if hang else 10)
    sidecar.mount(source)
    sidecar.start()
    print(json.dumps({"port": sidecar.port}), flush=True)
    return sidecar.run(relay)


if __name__ == "__main__":
    sys.exit(main())
