"""Per-request token usage from LiteLLM, through a ``CustomLogger`` callback.

``make_callback(tracker)`` returns a callback to add to ``litellm.callbacks``. It records every
successful ``completion`` / ``acompletion`` — streaming included, once, from the assembled
response — with LiteLLM's own usage, so Anthropic cache writes (``cache_creation_input_tokens``)
and cache reads keep their counts, both parts of the prompt count. The agent is named by the
request's ``metadata={"agent_name": ...}`` (``default_agent`` otherwise; the tracker falls back
to its command name when both are absent). ``registered_callback(tracker)`` is the tidy way to
use it: a ``with`` block (``async with`` in async code, which waits without blocking the event
loop) that registers it, waits for LiteLLM's deferred callbacks on exit and unregisters it from
every LiteLLM list. A callback records only the calls that started while it was registered, so a
late event never lands in another tracker.

LiteLLM runs success callbacks *after* the call has returned (a worker thread for ``completion``,
a task for ``acompletion``), so a program that finishes its tracker right after its last call
first waits for them: ``callback.wait_recorded()`` (or ``await callback.await_recorded()``). The
Agents SDK hooks do this by themselves for the agents this callback covers.

A response without usage is recorded with unknown counts: LiteLLM fills in ``Usage(0, 0)``, and
a prompt count of 0 is read as "not reported". A stream whose chunks carried no usage (an
OpenAI-protocol stream reports it only when asked with ``stream_options={"include_usage": True}``,
in the Agents SDK ``ModelSettings(include_usage=True)``, and some providers ignore the request) is
recorded with unknown counts too: LiteLLM would put its own tokenizer estimate there, so once
this integration is in use (a callback made, or the Agents SDK hooks met a ``LitellmModel``)
``guard_stream_usage()`` wraps ``litellm.stream_chunk_builder`` so that an assembled stream's
prompt and completion counts are 0 — never an estimate — when no chunk carried them. LiteLLM
hands that same usage to the caller, so a program using this integration reads 0 there too.

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
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache, wraps
from typing import TYPE_CHECKING, Any

from token_tracking import ratelimits
from token_tracking.extract import UsageRecorder, usage_from_result

if TYPE_CHECKING:
    from litellm.integrations.custom_logger import CustomLogger

__all__ = [
    "AGENT_METADATA_KEY",
    "find_callback",
    "guard_stream_usage",
    "make_callback",
    "registered_callback",
]

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


def _sent_count(chunks: list[Any], field: str) -> bool:
    """Whether a chunk of a stream carried a positive ``field`` count in its own ``usage``
    (LiteLLM keeps the provider's usage on the chunk it came with)."""
    for chunk in chunks:
        usage = chunk.get("usage") if isinstance(chunk, Mapping) else getattr(chunk, "usage", None)
        count = usage.get(field) if isinstance(usage, Mapping) else getattr(usage, field, None)
        if isinstance(count, int) and count > 0:
            return True
    return False


def _drop_estimates(response: object, chunks: list[Any]) -> None:
    """Set to 0 the prompt/completion counts of an assembled stream that no chunk carried:
    LiteLLM filled them with its tokenizer's estimate."""
    usage: Any = getattr(response, "usage", None)
    if not isinstance(getattr(usage, "prompt_tokens", None), int):
        return
    changed = False
    for field in ("prompt_tokens", "completion_tokens"):
        if not _sent_count(chunks, field):
            setattr(usage, field, 0)
            changed = True
    if changed:
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens


@cache
def guard_stream_usage() -> None:
    """Make LiteLLM leave the counts a stream did not carry at 0 instead of estimating them.

    Wraps ``litellm.stream_chunk_builder`` (which LiteLLM's stream wrapper calls to assemble a
    finished stream, the usage its callbacks and the caller get) once per process. Raises
    ``ImportError`` when litellm is not installed.
    """
    # Lazy: importing litellm costs ~2.2 s; only programs that use LiteLLM get here.
    import litellm

    build = litellm.stream_chunk_builder

    @wraps(build)
    def stream_chunk_builder(
        chunks: list[Any],
        messages: list[Any] | None = None,
        start_time: Any = None,
        end_time: Any = None,
        logging_obj: Any = None,
    ) -> Any:
        response = build(
            chunks,
            messages=messages,
            start_time=start_time,
            end_time=end_time,
            logging_obj=logging_obj,
        )
        if response is not None and isinstance(chunks, list):
            _drop_estimates(response, chunks)
        return response

    litellm.stream_chunk_builder = stream_chunk_builder


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

    def claim(self, call_id: str) -> bool:
        """Take ``call_id`` for recording; False when it was taken already or given up on.
        Waiters keep waiting until :meth:`done`."""
        with self.condition:
            if call_id in self.finished:
                return False
            self.finished.add(call_id)
            return call_id not in self.abandoned

    def done(self, call_id: str) -> None:
        """Stop waiting for ``call_id`` (recorded, failed or dropped)."""
        with self.condition:
            self.finished.add(call_id)
            self.pending.pop(call_id, None)
            self.condition.notify_all()

    def finish(self, call_id: str) -> bool:
        """Claim ``call_id`` and mark it done at once; False when it was taken already."""
        claimed = self.claim(call_id)
        self.done(call_id)
        return claimed

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

    guard_stream_usage()

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
            self._closing = False
            self._started: set[str] = set()

        # -- LiteLLM hooks ---------------------------------------------------------------

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            if self._closing or self._detached:
                return  # a call started after its block ended belongs to whoever is listed now
            call_id = kwargs.get("litellm_call_id") if isinstance(kwargs, Mapping) else None
            if isinstance(call_id, str):
                self._started.add(call_id)
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
            self._close_if_done()

        @property
        def accepting(self) -> bool:
            """True while the callback takes new calls (not closing, not detached)."""
            return not (self._closing or self._detached)

        def close_when_delivered(self) -> None:
            """Take no new call; detach and unregister once every started call is delivered."""
            self._closing = True
            self._close_if_done()

        def _close_if_done(self) -> None:
            if self._closing and not self._detached and not self._ledger.waiting_for(None):
                self.detach()
                unregister(self)

        def _record(
            self, kwargs: Mapping[str, Any], response: Any, start_time: Any, end_time: Any
        ) -> None:
            call_id = kwargs.get("litellm_call_id")
            if isinstance(call_id, str) and call_id not in self._started:
                # Started while this callback was not taking calls: another tracker's call.
                logger.debug("LiteLLM call %s was not started under this callback", call_id)
                return
            if isinstance(call_id, str) and not self._ledger.claim(call_id):
                return  # recorded already (sync and async paths), or given up on by a waiter
            try:
                self._record_usage(kwargs, response, start_time, end_time, call_id)
            finally:
                # Waiters are released only once the usage is in the tracker.
                if isinstance(call_id, str):
                    self._ledger.done(call_id)
                self._close_if_done()

        def _record_usage(
            self,
            kwargs: Mapping[str, Any],
            response: Any,
            start_time: Any,
            end_time: Any,
            call_id: object,
        ) -> None:
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
            ratelimits.capture_litellm(
                source, provider=kwargs.get("custom_llm_provider"), model=_model_of(kwargs)
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
    """The callback of ``tracker`` registered in LiteLLM and taking calls, if LiteLLM is loaded
    and has one."""
    # Never import litellm from here: look only when the program has loaded it already.
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return None
    for name in _CALLBACK_LISTS:
        for callback in getattr(litellm, name, None) or []:
            if getattr(callback, "token_tracker", None) is tracker and getattr(
                callback, "accepting", True
            ):
                return callback
    return None


class Registration:
    """``tracker``'s callback registered in LiteLLM for a ``with`` or ``async with`` block.

    Entering registers the callback and returns it. Leaving waits (up to ``max_wait`` seconds)
    until LiteLLM delivered the usage of every call made inside, then unregisters the callback
    from every LiteLLM list and detaches it. ``async with`` waits without blocking the event
    loop (LiteLLM delivers ``acompletion`` usage from a task on that loop). A plain ``with``
    left while an event loop runs in this thread cannot wait without blocking it: the callback
    then stops taking new calls at once and unregisters itself when the last of its calls is
    delivered. Either way a call is only ever recorded by the callback that was registered when
    it started, never by another tracker's.
    """

    def __init__(
        self, tracker: UsageRecorder, *, default_agent: str | None, max_wait: float
    ) -> None:
        self.tracker = tracker
        self.default_agent = default_agent
        self.max_wait = max_wait
        self.callback: Any = None

    def _register(self) -> Any:
        # Lazy: litellm costs ~2.2 s to import; only programs that use it get here.
        import litellm

        self.callback = make_callback(self.tracker, default_agent=self.default_agent)
        litellm.callbacks.append(self.callback)
        return self.callback

    def _unregister(self, delivered: bool) -> None:
        callback = self.callback
        if not delivered:
            logger.warning(
                "LiteLLM did not deliver the usage of %d call(s) within %g s; not recorded",
                len(callback.abandon()),
                self.max_wait,
            )
        callback.detach()
        unregister(callback)

    def __enter__(self) -> Any:
        return self._register()

    def __exit__(self, *exc_info: object) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._unregister(self.callback.wait_recorded(max_wait=self.max_wait))
            return
        # Waiting here would block the loop that delivers the usage: finish later instead.
        self.callback.close_when_delivered()

    async def __aenter__(self) -> Any:
        return self._register()

    async def __aexit__(self, *exc_info: object) -> None:
        self._unregister(await self.callback.await_recorded(max_wait=self.max_wait))


def unregister(callback: Any) -> None:
    """Remove ``callback`` from every LiteLLM callback list (LiteLLM copies
    ``litellm.callbacks`` into several). Each list is replaced, not changed in place, so a
    LiteLLM loop going over one of them meanwhile is not disturbed."""
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    for name in _CALLBACK_LISTS:
        listed = getattr(litellm, name, None)
        if isinstance(listed, list) and any(item is callback for item in listed):
            setattr(litellm, name, [item for item in listed if item is not callback])


def registered_callback(
    tracker: UsageRecorder,
    *,
    default_agent: str | None = None,
    max_wait: float = DEFAULT_WAIT_SECONDS,
) -> Registration:
    """Register ``tracker``'s callback in LiteLLM for a ``with`` (sync code) or ``async with``
    (async code) block, which yields the callback; see :class:`Registration`.

    Calls still undelivered after ``max_wait`` seconds are logged as a warning (their usage is
    not recorded). Raises ``ImportError`` when litellm is not installed.
    """
    return Registration(tracker, default_agent=default_agent, max_wait=max_wait)
