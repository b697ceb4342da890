"""The synthetic demo stream behind ``leadflow demo`` (pure and seeded)."""

from streams.demo.funnel import Demo, DemoRecord, export, generate, lead_id_of

__all__ = ["Demo", "DemoRecord", "export", "generate", "lead_id_of"]
