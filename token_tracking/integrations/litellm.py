"""Per-request token usage from LiteLLM, through a ``CustomLogger`` callback.

``make_callback(tracker)`` returns a callback to add to ``litellm.callbacks``. It records every
successful ``completion`` / ``acompletion`` — streaming included, once, from the assembled
response — with LiteLLM's own usage, so Anthropic cache writes (``cache_creation_input_tokens``)
and cache reads keep their counts, both parts of the prompt count. The agent is named by the
request's ``metadata={"agent_name": ...}`` (``default_agent`` otherwise; the tracker falls back
to its command name when both are absent). ``registered_callback(tracker)`` is the tidy way to
use it: a ``with`` block that registers it, waits for LiteLLM's deferred callbacks on exit and
unregisters it from every LiteLLM list.

LiteLLM runs success callbacks *after* the call has returned (a worker thread for ``completion``,
a task for ``acompletion``), so a program that finishes its tracker right after its last call
first waits for them: ``callback.wait_recorded()`` (or ``await callback.await_recorded()``). The
Agents SDK hooks do this by themselves for the agents this callback covers.

Streaming caveat: an OpenAI-protocol stream reports usage only when asked
(``stream_options={"include_usage": True}``; in the Agents SDK
``ModelSettings(include_usage=True)``).
Without it LiteLLM counts the tokens of the stream itself, and that estimate is what gets recorded.

LiteLLM swallows exceptions raised by callbacks (it logs them); a failed ``tracker.record`` is
therefore visible in LiteLLM's log, not to the caller. A success event that arrives after the
tracker finished, or after ``registered_callback`` unregistered the callback, is expected (LiteLLM
delivers late) and is dropped with a debug log line instead of failing inside LiteLLM.

Each callback carries a ``callback_id`` of its own: LiteLLM's callback manager refuses to add a
``CustomLogger`` that matches one already listed by class name and public str/bool/int attributes,
so without it a second tracker's callback was silently left out while an earlier one was listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from token_tracking.extract import UsageRecorder, usage_from_result

if TYPE_CHECKING:
    from litellm.integrations.custom_logger import CustomLogger

__all__ = ["AGENT_METADATA_KEY", "find_callback", "make_callback", "registered_callback"]

logger = logging.getLogger(__name__)

AGENT_METADATA_KEY = "agent_name"
"""The ``metadata`` key naming the agent a request belongs to."""

# How long a waiter gives LiteLLM's deferred callbacks before giving up (seconds).
DEFAULT_WAIT_SECONDS = 5.0

# LiteLLM copies `litellm.callbacks` into these lists on first use; all of them must be cleaned.
_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def _metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's metadata: LiteLLM moves ``metadata=`` under ``litellm_params``."""
    params = kwargs.get("litellm_params")
    if isinstance(params, Mapping):
        nested = params.get("metadata")
        if isinstance(nested, Mapping):
            return nested
    direct = kwargs.get("metadata")
    return direct if isinstance(direct, Mapping) else {}


def agent_of(kwargs: Mapping[str, Any]) -> str | None:
    """The agent named in a LiteLLM call's metadata, or None."""
    name = _metadata(kwargs).get(AGENT_METADATA_KEY)
    return name if isinstance(name, str) and name else None


def _model_of(kwargs: Mapping[str, Any]) -> str | None:
    """The model as LiteLLM routed it, ``provider/model`` (``openai/gpt-4o``).

    LiteLLM hands callbacks the model without its provider prefix plus the provider apart; the
    name that also records the caller's ``litellm_model_name`` is filled concurrently with the
    sync callback, so it cannot be relied on.
    """
    model = kwargs.get("model")
    if not isinstance(model, str) or not model:
        return None
    provider = kwargs.get("custom_llm_provider")
    if isinstance(provider, str) and provider and not model.startswith(provider + "/"):
        return f"{provider}/{model}"
    return model


def _tracker_finished(tracker: UsageRecorder) -> bool:
    """Whether ``tracker`` says its session is closed (a ``finished`` flag; absent: open)."""
    return getattr(tracker, "finished", False) is True


def _seconds_between(start: object, end: object) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return (end - start).total_seconds()
    if isinstance(start, int | float) and isinstance(end, int | float):
        return float(end) - float(start)
    return None


class _Ledger:
    """Which LiteLLM calls are in flight, so waiters know when every usage is recorded."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.pending: dict[str, str | None] = {}  # litellm_call_id -> agent name
        self.finished: set[str] = set()
        self.abandoned: set[str] = set()

    def begin(self, call_id: str, agent: str | None) -> None:
        with self.condition:
            if call_id not in self.finished:
                self.pending[call_id] = agent

    def finish(self, call_id: str) -> bool:
        """Mark ``call_id`` done; False when it was done already or given up on."""
        with self.condition:
            if call_id in self.finished:
                return False
            self.finished.add(call_id)
            self.pending.pop(call_id, None)
            self.condition.notify_all()
            return call_id not in self.abandoned

    def waiting_for(self, agent: str | None) -> list[str]:
        with self.condition:
            return [c for c, a in self.pending.items() if agent is None or a == agent]

    def abandon(self, agent: str | None) -> list[str]:
        with self.condition:
            calls = [c for c, a in self.pending.items() if agent is None or a == agent]
            for call_id in calls:
                self.pending.pop(call_id)
                self.abandoned.add(call_id)
            self.condition.notify_all()
            return calls


@cache
def _callback_class() -> Callable[[UsageRecorder, str | None], CustomLogger]:
    # Lazy: importing litellm costs ~2.2 s and must happen after
    # LITELLM_LOCAL_MODEL_COST_MAP is set; only programs that use LiteLLM pay for it.
    from litellm.integrations.custom_logger import CustomLogger

    class TokenTrackingCallback(CustomLogger):
        """Records the usage of every successful LiteLLM call into a ``TokenTracker``."""

        def __init__(self, tracker: UsageRecorder, default_agent: str | None) -> None:
            super().__init__()
            self.token_tracker = tracker
            self.default_agent = default_agent
            self.callback_id: str = uuid.uuid4().hex
            """Unique per callback. LiteLLM keys a ``CustomLogger`` by class name plus public
            str/bool/int attributes and skips adding one whose key is listed already; this makes
            the key unique, so two trackers' callbacks never shadow each other."""
            self._ledger = _Ledger()
            self._detached = False

        # -- LiteLLM hooks ---------------------------------------------------------------

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            call_id = kwargs.get("litellm_call_id") if isinstance(kwargs, Mapping) else None
            if isinstance(call_id, str):
                self._ledger.begin(call_id, agent_of(kwargs) or self.default_agent)

        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._record(kwargs, response_obj, start_time, end_time)

        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._record(kwargs, response_obj, start_time, end_time)

        def log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._forget(kwargs)

        async def async_log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            self._forget(kwargs)

        # -- recording -------------------------------------------------------------------

        def _forget(self, kwargs: Mapping[str, Any]) -> None:
            # A failed call has no usage to record; it only stops being waited for.
            call_id = kwargs.get("litellm_call_id")
            if isinstance(call_id, str):
                self._ledger.finish(call_id)

        def _record(
            self, kwargs: Mapping[str, Any], response: Any, start_time: Any, end_time: Any
        ) -> None:
            call_id = kwargs.get("litellm_call_id")
            if isinstance(call_id, str) and not self._ledger.finish(call_id):
                return  # recorded already (sync and async paths), or given up on by a waiter
            if self._detached or _tracker_finished(self.token_tracker):
                # LiteLLM delivers after the call returned; a run that stopped waiting (and
                # finished its tracker) may still get the event. Recording would raise inside
                # LiteLLM, which only logs it as an error.
                logger.debug(
                    "LiteLLM call %s arrived after its tracker's callback was closed; not recorded",
                    call_id,
                )
                return
            complete = kwargs.get("complete_streaming_response")
            if complete is None:
                complete = kwargs.get("async_complete_streaming_response")
            source = response if complete is None else complete
            (usage,) = usage_from_result(source, model=_model_of(kwargs))
            self.token_tracker.record(
                usage.model_copy(
                    update={
                        "agent_name": agent_of(kwargs) or self.default_agent,
                        "duration_seconds": _seconds_between(start_time, end_time),
                    }
                )
            )

        # -- waiting for LiteLLM's deferred callbacks ------------------------------------

        def wait_recorded(
            self, agent: str | None = None, *, max_wait: float = DEFAULT_WAIT_SECONDS
        ) -> bool:
            """Block until every started call (of ``agent``, or all) is recorded or failed.

            Returns False when some are still pending after ``max_wait`` seconds.
            """
            deadline = time.monotonic() + max_wait
            with self._ledger.condition:
                while self._ledger.waiting_for(agent):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._ledger.condition.wait(left)
            return True

        async def await_recorded(
            self, agent: str | None = None, *, max_wait: float = DEFAULT_WAIT_SECONDS
        ) -> bool:
            """Async twin of :meth:`wait_recorded` (polls, so the event loop keeps running)."""
            deadline = time.monotonic() + max_wait
            while self._ledger.waiting_for(agent):
                if time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(0.005)
            return True

        def abandon(self, agent: str | None = None) -> list[str]:
            """Stop waiting for the pending calls of ``agent`` (or all): if their callbacks
            still arrive they are ignored, because the caller recorded them another way.
            Returns their LiteLLM call ids."""
            return self._ledger.abandon(agent)

        def detach(self) -> None:
            """Ignore every later event (``registered_callback`` calls it when it unregisters)."""
            self._detached = True

    return TokenTrackingCallback


def make_callback(tracker: UsageRecorder, *, default_agent: str | None = None) -> CustomLogger:
    """Return a LiteLLM ``CustomLogger`` that records each successful call into ``tracker``.

    Register it with ``litellm.callbacks.append(...)``. The agent of a call is its
    ``metadata["agent_name"]``, else ``default_agent``. The returned object also has
    ``wait_recorded()`` / ``await_recorded()`` (wait for LiteLLM's deferred callbacks),
    ``abandon()`` and ``detach()``. Events that arrive once ``tracker.finished`` is true (or
    after ``detach()``) are dropped with a debug log line. Raises ``ImportError`` when litellm is
    not installed.
    """
    return _callback_class()(tracker, default_agent)


def find_callback(tracker: UsageRecorder) -> Any | None:
    """The callback of ``tracker`` registered in LiteLLM, if LiteLLM is loaded and has one."""
    # Never import litellm from here: look only when the program has loaded it already.
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return None
    for name in _CALLBACK_LISTS:
        for callback in getattr(litellm, name, None) or []:
            if getattr(callback, "token_tracker", None) is tracker:
                return callback
    return None


@contextlib.contextmanager
def registered_callback(
    tracker: UsageRecorder,
    *,
    default_agent: str | None = None,
    max_wait: float = DEFAULT_WAIT_SECONDS,
) -> Iterator[Any]:
    """Register ``tracker``'s callback in LiteLLM for the ``with`` block; yields the callback.

    On exit it waits (up to ``max_wait`` seconds) until LiteLLM has delivered the usage of every
    call made inside, then removes the callback from every LiteLLM callback list (LiteLLM copies
    ``litellm.callbacks`` into several), so a later tracker never receives it, and detaches it so
    an event LiteLLM still delivers late is dropped. Calls still undelivered then are logged as a
    warning (their usage is not recorded). Raises ``ImportError`` when litellm is not installed.
    """
    # Lazy: litellm costs ~2.2 s to import; only programs that use it get here.
    import litellm

    callback = make_callback(tracker, default_agent=default_agent)
    litellm.callbacks.append(callback)
    try:
        yield callback
    finally:
        if not callback.wait_recorded(max_wait=max_wait):  # type: ignore[attr-defined]
            logger.warning(
                "LiteLLM did not deliver the usage of %d call(s) within %g s; not recorded",
                len(callback.abandon()),  # type: ignore[attr-defined]
                max_wait,
            )
        callback.detach()  # type: ignore[attr-defined]
        for name in _CALLBACK_LISTS:
            listed = getattr(litellm, name, None)
            if isinstance(listed, list):
                listed[:] = [item for item in listed if item is not callback]
