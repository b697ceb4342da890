"""leadflow's agents, one module each. ``ALL`` is the explicit list the app attaches."""

from agents import relay

ALL = (relay,)
