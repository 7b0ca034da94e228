"""The offline engine (``--offline``): the memory bank written from a static scan, no model.

``engine`` runs the agents in-process and records their usage; ``writers`` writes the six files;
``phrases`` builds their sentences from the project's facts. Nothing here imports an LLM SDK.
"""
