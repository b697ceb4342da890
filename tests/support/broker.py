"""The real Kafka broker the suite runs against: started once by deploy/kafka/kafka.sh."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


def ensure_broker() -> tuple[str, bool]:
    """Returns (broker url, started_here). Uses LEADFLOW_BROKER when a broker is given."""
    given = os.environ.get("LEADFLOW_BROKER")
    if given:
        return given, False
    port = os.environ.get("LEADFLOW_KAFKA_PORT", "9092")
    status = subprocess.run([str(KAFKA_SH), "status"], capture_output=True, text=True)
    if status.returncode == 0:
        return f"kafka://127.0.0.1:{port}", False
    subprocess.run([str(KAFKA_SH), "start"], check=True)
    return f"kafka://127.0.0.1:{port}", True


def stop_broker() -> None:
    subprocess.run([str(KAFKA_SH), "stop"], check=False)
