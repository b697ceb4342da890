"""leadflow's agents, one module each. ``ALL`` is the explicit list the app attaches."""

from agents import report_kpis, score_leads, watch_sla

ALL = (score_leads, watch_sla, report_kpis)
