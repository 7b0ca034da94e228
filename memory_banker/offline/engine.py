"""The offline engine: the six agents run in-process and write the bank from the digest's facts.

``--offline`` calls no model, opens no connection, needs no key and imports no LLM SDK (neither
``agents``, ``litellm``, ``openai`` nor ``anthropic``): :class:`OfflineRunner` sits behind the same
pipeline interface as the SDK backends (:class:`memory_banker.backends.AgentRunner`), answers each
agent with :func:`memory_banker.offline.writers.render_offline`, and records the request through
the tracker's own API the way a model's request is recorded:

- ``prompt_tokens``: the tokenizer count of the system instructions and the user message the
  agent was given, each plus ``MESSAGE_OVERHEAD``
  (:func:`memory_banker.tokenizer.count_prompt_tokens`);
- ``completion_tokens``: the tokenizer count of the file it wrote;
- one request, no cached, cache-write or reasoning tokens, model ``offline`` (priced at an
  explicit $0), the time it took as its duration.

The pipeline starts and ends each agent, so a report of an offline run has the same agents,
counts, cost and status whichever way the engine is driven.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from memory_banker.digest.facts import Digest
from memory_banker.offline.writers import render_offline
from memory_banker.specs import AgentSpec
from memory_banker.tokenizer import count_prompt_tokens, count_tokens
from token_tracking import OFFLINE_MODEL, RequestUsage
from token_tracking.extract import UsageRecorder


class OfflineRunner:
    """Runs memory-bank agents on the offline engine; one instance serves every agent of a run."""

    def __init__(self, digest: Digest, recorder: UsageRecorder) -> None:
        """Answer from ``digest``'s facts and record each request into ``recorder``."""
        self.digest = digest
        self.recorder = recorder

    async def run_agent(self, spec: AgentSpec, instructions: str, message: str) -> str:
        """Write ``spec``'s file, record its one request under ``spec.name``, return the file.

        The agent must have been started in the recorder (the pipeline does it). Raises
        ``KeyError`` for a spec that is not one of the six, ``TokenizerUnavailableError`` when
        the bundled tokenizer file is missing (nothing is recorded then).
        """
        started = time.monotonic()
        text = render_offline(spec, self.digest.facts, self.digest.files)
        prompt_tokens = count_prompt_tokens(instructions, message)
        completion_tokens = count_tokens(text)
        self.recorder.record(
            RequestUsage(
                timestamp=datetime.now(UTC),
                agent_name=spec.name,
                model=OFFLINE_MODEL,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cached_tokens=0,
                cache_write_tokens=0,
                reasoning_tokens=0,
                requests=1,
                duration_seconds=time.monotonic() - started,
            )
        )
        return text
