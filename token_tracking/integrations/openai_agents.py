"""Per-agent token usage from the OpenAI Agents SDK, through ``RunHooks``.

``make_run_hooks(tracker)`` returns a ``RunHooks`` object to pass to ``Runner.run(...,
hooks=...)`` (or ``run_streamed``). At each ``on_llm_end`` it records that response's *own* usage
under the agent that made the request: ``response.raw_usage`` when the model settings have
``preserve_raw_usage=True`` (the provider's numbers, unknown counts kept unknown), else
``response.usage`` (the SDK's numbers, where an absent count reads 0). The run-wide
``context.usage`` is shared by every agent of a run and is never used.

Agent lifecycle — who calls ``start_agent`` / ``end_agent``:

- An agent that nobody has started when it begins (a program that just passes the hooks) is
  started by the hooks at ``on_agent_start`` and ended with ``success=True`` at ``on_agent_end``
  (or when it hands off). The hooks cannot see a run that raises: the caller ends such an agent
  with ``tracker.end_agent(name, success=False, error=...)``; the requests that completed before
  the failure stay recorded.
- An agent the caller started itself (``tracker.start_agent(name)`` before ``Runner.run``, as
  memory-banker's pipeline does, because an agent succeeds only once its output is validated) is
  left to the caller: the hooks record its requests and never start or end it.

``manage_agents=True`` / ``False`` forces one behaviour instead of deciding per agent.

LiteLLM models: the SDK's ``LitellmModel`` drops LiteLLM's cache-write count. When the agent's
``model_settings.metadata`` carries ``agent_name`` and this tracker's LiteLLM callback is
registered in ``litellm.callbacks``, the callback records those requests from LiteLLM's own
response (cache writes included in the prompt count) and the hooks skip them, so nothing is
counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from token_tracking.extract import UsageRecorder, model_name, usage_from_model_response
from token_tracking.integrations.litellm import AGENT_METADATA_KEY, find_callback

if TYPE_CHECKING:
    from agents import RunHooks

__all__ = ["AGENT_METADATA_KEY", "make_run_hooks"]


def _is_running(tracker: UsageRecorder, name: str) -> bool:
    """True when the tracker has an accumulator for ``name`` that has not ended."""
    return any(
        agent.agent_name == name and agent.start_time is not None and agent.end_time is None
        for agent in tracker.agent_snapshot()
    )


def _covering_callback(tracker: UsageRecorder, agent: Any) -> Any | None:
    """This tracker's LiteLLM callback when it records ``agent``'s requests itself, else None.

    That is the case for an agent on the SDK's ``LitellmModel`` whose ``model_settings.metadata``
    names it (``agent_name``), with the callback registered in ``litellm.callbacks``.
    """
    if type(getattr(agent, "model", None)).__name__ != "LitellmModel":
        return None
    metadata = getattr(getattr(agent, "model_settings", None), "metadata", None)
    if not isinstance(metadata, dict) or metadata.get(AGENT_METADATA_KEY) != agent.name:
        return None
    return find_callback(tracker)


@cache
def _hooks_class() -> Callable[[UsageRecorder, bool | None], RunHooks[Any]]:
    # Lazy: importing the Agents SDK costs ~1.6 s; `memory-banker tokens …` and
    # programs that only read reports must never pay it. Built once per process.
    from agents import RunHooks

    class TokenTrackingHooks(RunHooks[Any]):
        """Records every model response of every agent into a ``TokenTracker``."""

        def __init__(self, tracker: UsageRecorder, manage_agents: bool | None) -> None:
            self.tracker = tracker
            self.manage_agents = manage_agents
            self._owned: set[str] = set()
            self._llm_started: dict[tuple[str, int], float] = {}

        async def on_agent_start(self, context: Any, agent: Any) -> None:
            name = agent.name
            if self.manage_agents is False or name in self._owned:
                return
            if self.manage_agents is None and _is_running(self.tracker, name):
                return
            self.tracker.start_agent(name, model_name(agent.model))
            self._owned.add(name)

        async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
            self._end_owned(agent.name)

        async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
            self._end_owned(from_agent.name)

        def _end_owned(self, name: str) -> None:
            if name in self._owned:
                self._owned.discard(name)
                self.tracker.end_agent(name, success=True)

        async def on_llm_start(
            self, context: Any, agent: Any, system_prompt: Any, input_items: Any
        ) -> None:
            self._llm_started[(agent.name, id(context))] = time.monotonic()

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            started = self._llm_started.pop((agent.name, id(context)), None)
            callback = _covering_callback(self.tracker, agent)
            if callback is not None:
                # LiteLLM records after the call returns; wait so the agent's numbers are
                # complete when the run ends. Should it not come, record the SDK's usage and
                # make the callback ignore the late event, so nothing counts twice.
                if await callback.await_recorded(agent.name):
                    return
                callback.abandon(agent.name)
            usage = usage_from_model_response(response, model=model_name(agent.model))
            duration = None if started is None else time.monotonic() - started
            self.tracker.record(
                usage.model_copy(update={"agent_name": agent.name, "duration_seconds": duration})
            )

    return TokenTrackingHooks


def make_run_hooks(tracker: UsageRecorder, *, manage_agents: bool | None = None) -> RunHooks[Any]:
    """Return Agents SDK ``RunHooks`` that record each agent's requests into ``tracker``.

    ``manage_agents``: ``None`` (default) starts and ends only agents the caller has not started
    itself; ``True`` always starts/ends them from the hooks; ``False`` never does (the caller
    calls ``start_agent``/``end_agent``). Raises ``ImportError`` when ``openai-agents`` is not
    installed.
    """
    return _hooks_class()(tracker, manage_agents)
