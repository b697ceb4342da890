"""The peer: leadflow's job on Quix Streams 3.x, for `bench/run.py --only peer`.

    .venv/bin/python bench/peer_quix.py --events-topic T --outcomes-topic T --out-topic T \
        --group G --state-dir DIR --expect N [--commit-every 500]

Same inputs, same processor (``streams.processor.LeadProcessor``: decode + validate +
``Batch.apply`` = state, ``step``, output encode), state in Quix's RocksDB store with its
changelog topic, at-least-once (Quix checkpoints: produce flushed, then offsets committed),
checkpoint every ``--commit-every`` inputs. Differences from the leadflow worker, on
purpose small: records are applied per partition in the order Quix gives them (its own
timestamp alignment of the two topics), not leadflow's event-time merge, and SLA deadlines
are not scheduled; every output goes to one topic (same bytes, same keys). Prints one JSON
line when ``--expect`` inputs are processed: events/s and CPU seconds of this process
between the first and the last input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quixstreams import Application, message_context

from streams.codecs import CodecError, default_codecs
from streams.domain import decode_state, encode_state, load_policy
from streams.paths import DEFAULT_POLICY
from streams.processor import Inbound, LeadProcessor

STATE_KEY = "s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", default="127.0.0.1:9092")
    ap.add_argument("--events-topic", required=True)
    ap.add_argument("--outcomes-topic", required=True)
    ap.add_argument("--out-topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--commit-every", type=int, default=500,
                    help="checkpoint every N inputs (0: Quix's default, every 5 s)")
    args = ap.parse_args()

    seen = 0
    first: tuple[float, float] | None = None
    report: dict[str, Any] = {}

    def on_processed(topic: str, partition: int, offset: int) -> None:
        nonlocal seen, first
        seen += 1
        if first is None:
            first = (time.perf_counter(), time.process_time())
        if seen == args.expect:
            wall = time.perf_counter() - first[0]
            cpu = time.process_time() - first[1]
            report.update(events=seen, seconds=round(wall, 2),
                          events_per_s=round((seen - 1) / wall) if wall > 0 else None,
                          cpu_s=round(cpu, 2),
                          cpu_s_per_1k=round(cpu / seen * 1000, 4))
            app.stop()

    app = Application(broker_address=args.broker, consumer_group=args.group,
                      on_message_processed=on_processed, auto_offset_reset="earliest",
                      state_dir=args.state_dir,
                      commit_every=args.commit_every, loglevel="WARNING",
                      use_changelog_topics=True, processing_guarantee="at-least-once")
    source = {args.events_topic: "events", args.outcomes_topic: "outcomes"}
    events = app.topic(args.events_topic, key_deserializer="bytes", value_deserializer="bytes")
    outcomes = app.topic(args.outcomes_topic, key_deserializer="bytes",
                         value_deserializer="bytes")
    out = app.topic(args.out_topic, key_serializer="bytes", value_serializer="bytes")
    processor = LeadProcessor(load_policy(DEFAULT_POLICY), default_codecs(),
                              {"dead_letter": args.out_topic})

    def process(value: bytes, key: bytes, timestamp: int, headers: Any, state: Any
                ) -> list[bytes]:
        ctx = message_context()
        rec = Inbound(source[ctx.topic], ctx.topic, ctx.partition, ctx.offset, key, value)
        now = time.time_ns() // 1_000_000

        def load(lead_id: str, _rec: Inbound) -> Any:
            raw = state.get(STATE_KEY)
            return None if raw is None else decode_state(raw.encode())

        batch = processor.batch(load, now)
        try:
            lead_id, model = processor.decode(rec, now)
        except CodecError as err:
            batch.dead_letter(rec, err)
        else:
            batch.apply(rec, lead_id, model)
        for _lead, (new_state, _r) in batch.result.states.items():
            state.set(STATE_KEY, encode_state(new_state).decode())
        return [o.value for o in batch.result.outbound]

    sdf = app.dataframe(events).concat(app.dataframe(outcomes))
    sdf = sdf.apply(process, stateful=True, metadata=True)
    sdf = sdf.apply(lambda outputs: outputs, expand=True)
    sdf.to_topic(out)

    app.run()
    print(json.dumps(report), flush=True)
    return 0 if report else 1


if __name__ == "__main__":
    raise SystemExit(main())
