"""Plain typed functions: analysis, Dockerfile generation, engine and registry operations, manifests.

Usable without the graph; nothing here imports ``containerkit.agents`` or ``containerkit.graph``.
"""
