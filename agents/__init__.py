"""leadflow's agents, one module each. ``ALL`` is the explicit list the app attaches."""

from agents import report_kpis, score_accounts, score_leads

ALL = (score_leads, report_kpis, score_accounts)
