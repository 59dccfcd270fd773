"""Where simulations run: ``native`` (threads over hallctl.sim) and ``julia`` (HallThruster.jl)."""
