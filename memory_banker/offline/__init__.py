"""The offline engine (``--offline``): the memory bank written from the project digest, no model.

``engine`` runs the agents in-process and records their usage; ``writers`` writes the six files;
``structure`` reads the module map and import graph, ``conventions`` the tool settings and commit
style, and ``phrases`` builds the shared sentences. Nothing here imports an LLM SDK.
"""
