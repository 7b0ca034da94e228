"""Per-agent token usage from the OpenAI Agents SDK, through ``RunHooks``.

``make_run_hooks(tracker)`` returns a ``RunHooks`` object to pass to ``Runner.run(...,
hooks=...)`` (or ``run_streamed``). At each ``on_llm_end`` it records that response's *own* usage
under the agent that made the request: ``response.raw_usage`` when the model settings have
``preserve_raw_usage=True`` (the provider's numbers, unknown counts kept unknown), else
``response.usage`` (the SDK's numbers, where an absent count reads 0). The run-wide
``context.usage`` is shared by every agent of a run and is never attributed to one: at the end of
the run (``on_agent_end``) it is only compared with the responses' own usage, and what it counts
beyond them is recorded as the agent ``(unattributed)`` with a warning
(``TokenTracker.reconcile_usage``).

Agents used as tools (``Agent.as_tool()``) run nested, without these run hooks: when a tool call
starts, the hooks put recording ``AgentHooks`` on the agent behind the tool (wrapping the agent's
own ``hooks``, which keep being called) and restore them when the call ends, so its requests are
recorded under its own name.

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

LiteLLM models: the SDK's ``LitellmModel`` drops LiteLLM's cache-write count. At agent start the
hooks put ``agent_name`` into the metadata of a ``LitellmModel`` agent whose
``model_settings.metadata`` names no agent; when this tracker's LiteLLM callback is registered in
``litellm.callbacks`` it then records those requests from LiteLLM's own response (cache writes
included in the prompt count) and the hooks skip them. A response both see anyway is recorded
once: the tracker keys records by response id.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from token_tracking.extract import UsageRecorder, model_name, usage_from_model_response
from token_tracking.integrations.litellm import (
    AGENT_METADATA_KEY,
    find_callback,
    guard_stream_usage,
)

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


def _sdk_counts(response: Any) -> tuple[int, int, int]:
    """The SDK's own counts of one model response: input, output and requests (what its
    run-wide ``context.usage`` adds up)."""
    usage = getattr(response, "usage", None)
    return (
        int(getattr(usage, "input_tokens", 0) or 0),
        int(getattr(usage, "output_tokens", 0) or 0),
        int(getattr(usage, "requests", 0) or 0),
    )


def _name_litellm_requests(agent: Any) -> None:
    """Put ``agent_name`` into the metadata of an agent on the SDK's ``LitellmModel`` that has
    none, so LiteLLM's callback records its requests under the agent's name."""
    if type(getattr(agent, "model", None)).__name__ != "LitellmModel":
        return
    guard_stream_usage()  # its streams' usage must not be LiteLLM's estimate
    settings = getattr(agent, "model_settings", None)
    if settings is None:
        return
    metadata = settings.metadata
    if isinstance(metadata, dict) and AGENT_METADATA_KEY in metadata:
        return
    named = {**(metadata or {}), AGENT_METADATA_KEY: agent.name}
    agent.model_settings = dataclasses.replace(settings, metadata=named)


class _Recording:
    """What the run hooks and the hooks they put on agents used as tools share: one tracker,
    the agents they started, the requests in flight, and the agents-as-tools they hooked."""

    def __init__(self, tracker: UsageRecorder, manage_agents: bool | None) -> None:
        self.tracker = tracker
        self.manage_agents = manage_agents
        self.owned: set[str] = set()
        self.llm_started: dict[tuple[str, int], float] = {}
        # id(agent) -> [agent, its own hooks, calls in flight, the hooks put on it]
        self.tool_agents: dict[int, list[Any]] = {}

    def agent_start(self, agent: Any) -> None:
        _name_litellm_requests(agent)
        name = agent.name
        if self.manage_agents is False or name in self.owned:
            return
        if self.manage_agents is None and _is_running(self.tracker, name):
            return
        self.tracker.start_agent(name, model_name(agent.model))
        self.owned.add(name)

    def agent_end(self, name: str) -> None:
        if name in self.owned:
            self.owned.discard(name)
            self.tracker.end_agent(name, success=True)

    def llm_start(self, context: Any, agent: Any) -> None:
        self.llm_started[(agent.name, id(context))] = time.monotonic()

    async def llm_end(self, context: Any, agent: Any, response: Any) -> None:
        started = self.llm_started.pop((agent.name, id(context)), None)
        # The SDK adds this response to its run-wide usage whoever records it.
        self.tracker.note_sdk_usage(id(context.usage), *_sdk_counts(response))
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

    def hook_tool_agent(self, tool: Any) -> None:
        """Give the agent behind an ``Agent.as_tool()`` tool hooks that record it (its nested
        run gets no run hooks from the SDK), keeping the agent's own hooks."""
        agent = getattr(tool, "_agent_instance", None)
        if agent is None or getattr(tool, "_is_agent_tool", False) is not True:
            return
        entry = self.tool_agents.get(id(agent))
        if entry is None:
            hooks = _agent_hooks_class()(self, agent.hooks)
            entry = self.tool_agents[id(agent)] = [agent, agent.hooks, 0, hooks]
            agent.hooks = hooks
        entry[2] += 1

    def unhook_tool_agent(self, tool: Any) -> None:
        agent = getattr(tool, "_agent_instance", None)
        if agent is None:
            return
        entry = self.tool_agents.get(id(agent))
        if entry is None:
            return
        entry[2] -= 1
        if entry[2] <= 0:
            del self.tool_agents[id(agent)]
            hooks = entry[3]
            hooks.recording = None  # from now on it only calls the agent's own hooks
            if agent.hooks is hooks:
                agent.hooks = entry[1]


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
            self.recording = _Recording(tracker, manage_agents)

        async def on_agent_start(self, context: Any, agent: Any) -> None:
            self.recording.agent_start(agent)

        async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
            self.recording.agent_end(agent.name)
            # The run is over: what the SDK counted run-wide and no response carried is
            # recorded apart, so the report is never below the SDK's own total.
            self.tracker.reconcile_usage(context.usage, model=model_name(agent.model))

        async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
            self.recording.agent_end(from_agent.name)

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            self.recording.hook_tool_agent(tool)

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: Any) -> None:
            self.recording.unhook_tool_agent(tool)

        async def on_llm_start(
            self, context: Any, agent: Any, system_prompt: Any, input_items: Any
        ) -> None:
            self.recording.llm_start(context, agent)

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            await self.recording.llm_end(context, agent, response)

    return TokenTrackingHooks


@cache
def _agent_hooks_class() -> Callable[[_Recording, Any], Any]:
    # Lazy, as above.
    from agents import AgentHooks

    class ToolAgentHooks(AgentHooks[Any]):
        """Hooks of an agent used as a tool: record it, then call the agent's own hooks."""

        def __init__(self, recording: _Recording, inner: Any) -> None:
            self.recording: _Recording | None = recording
            """None once taken off (another wrapper may still call through it)."""
            self.inner = inner

        async def on_start(self, context: Any, agent: Any) -> None:
            if self.recording is not None:
                self.recording.agent_start(agent)
            if self.inner is not None:
                await self.inner.on_start(context, agent)

        async def on_end(self, context: Any, agent: Any, output: Any) -> None:
            if self.recording is not None:
                self.recording.agent_end(agent.name)
            if self.inner is not None:
                await self.inner.on_end(context, agent, output)

        async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
            if self.recording is not None:
                self.recording.agent_end(source.name)
            if self.inner is not None:
                await self.inner.on_handoff(context, agent, source)

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            if self.recording is not None:
                self.recording.hook_tool_agent(tool)
            if self.inner is not None:
                await self.inner.on_tool_start(context, agent, tool)

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: Any) -> None:
            if self.recording is not None:
                self.recording.unhook_tool_agent(tool)
            if self.inner is not None:
                await self.inner.on_tool_end(context, agent, tool, result)

        async def on_llm_start(
            self, context: Any, agent: Any, system_prompt: Any, input_items: Any
        ) -> None:
            if self.recording is not None:
                self.recording.llm_start(context, agent)
            if self.inner is not None:
                await self.inner.on_llm_start(context, agent, system_prompt, input_items)

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            if self.recording is not None:
                await self.recording.llm_end(context, agent, response)
            if self.inner is not None:
                await self.inner.on_llm_end(context, agent, response)

    return ToolAgentHooks


def make_run_hooks(tracker: UsageRecorder, *, manage_agents: bool | None = None) -> RunHooks[Any]:
    """Return Agents SDK ``RunHooks`` that record each agent's requests into ``tracker``.

    ``manage_agents``: ``None`` (default) starts and ends only agents the caller has not started
    itself; ``True`` always starts/ends them from the hooks; ``False`` never does (the caller
    calls ``start_agent``/``end_agent``). Raises ``ImportError`` when ``openai-agents`` is not
    installed.
    """
    return _hooks_class()(tracker, manage_agents)
