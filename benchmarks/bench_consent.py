"""The cost of consent on its state: the same lines through a pipeline without and with a withdrawal-honouring stream.

Both pipelines have the enriched stream and one derived stream; in the second the derived stream
honours withdrawals, and the state holds 100,000 suppressed users (none of them in the sample), so
every event pays the entity scan, the user-key lookup and the ``sp.consent`` header. The two run
round by round, back to back, after ``gc.freeze()`` as the runner does; the figures are the best
round of each and the ratio of their times.

    .venv/bin/python benchmarks/bench_consent.py

Not a test: it prints figures, it does not judge them.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.toolkit.pipeline_events import config  # noqa: E402
from toolkit.contract.samples import SampleSpec, generate  # noqa: E402
from toolkit.pipeline.fanout import Pipeline  # noqa: E402

USERS = 100_000
ROUNDS = 9


def main() -> None:
    lines = [x.encode() for x in generate(SampleSpec(events=4000, seed=7))]
    derived = [{"name": "marketing", "version": 1, "owner": "crm"}]
    plain = Pipeline.from_config(config(derived=derived), pipeline_id="bench")
    consent = Pipeline.from_config(config(derived=derived, privacy={"marketing": {"honour_withdrawals": True}}),
                                   pipeline_id="bench")
    assert consent.ledger is not None
    consent.ledger.load(((f"domain_userid:x{i}".encode(), b'{"suppressed":true,"all":true}') for i in range(USERS)),
                        "bench")
    runs = {"plain": plain, "consent": consent}
    for p in runs.values():
        for i, line in enumerate(lines):
            p.process(line, f"warm:{i}")
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(ROUNDS):
        for name, p in (list(runs.items()) if r % 2 else list(runs.items())[::-1]):
            started = time.perf_counter()
            for i, line in enumerate(lines):
                p.process(line, f"b:{i}")
            times[name].append(time.perf_counter() - started)
    a, b = min(times["plain"]), min(times["consent"])
    print(f"{len(lines)} events, {USERS} suppressed users held")
    print(f"without consent rules: {len(lines) / a:,.0f} events/s")
    print(f"honouring withdrawals: {len(lines) / b:,.0f} events/s")
    print(f"time ratio (consent / without): {b / a:.3f}")


if __name__ == "__main__":
    main()
