"""Where ``PriceBook.cost`` knowingly differs from ``litellm.cost_per_token`` (LiteLLM 1.83.0).

For every chat entry of the bundled table, ``tests/pricing/test_pricing_parity.py`` prices usages
with and without cached tokens, cache writes, reasoning tokens and prompts above 128k/200k/272k
tokens both
ways. They agree to a relative 1e-9 except for exactly the entries below, which the test asserts
by name. Equal by construction, not listed: LiteLLM's provider-specific functions (fireworks_ai and
databricks bill every prompt token at the input rate; perplexity bills cached prompt tokens at the
input rate; dashscope spreads tokens over its ``tiered_pricing`` bands) are reproduced in
``pricing.cost``. Never exercised, so not listed: 1-hour cache writes (23 entries) and priority or
flex tiers (50 entries) need inputs a usage record does not carry; both sides use the 5-minute
cache-write rate and the standard tier.

No per-token price (105 entries, ``no_token_price``)
----------------------------------------------------
LiteLLM's table gives the entry no per-token input or output rate (it is priced per second or by
commitment, is a free-tier placeholder, or has only a ``tiered_pricing`` list that LiteLLM's generic
function ignores). ``litellm.cost_per_token`` returns $0 for it; memory-banker reports the cost as
unknown, never $0 (DESIGN §3).

azure/container, bedrock/*/1-month-commitment/cohere.command-light-text-v14,
bedrock/*/1-month-commitment/cohere.command-text-v14,
bedrock/*/6-month-commitment/cohere.command-light-text-v14,
bedrock/*/6-month-commitment/cohere.command-text-v14,
bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-instant-v1,
bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-v1,
bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-v2:1,
bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-instant-v1,
bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-v1,
bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-v2:1,
bedrock/eu-central-1/1-month-commitment/anthropic.claude-instant-v1,
bedrock/eu-central-1/1-month-commitment/anthropic.claude-v1,
bedrock/eu-central-1/1-month-commitment/anthropic.claude-v2:1,
bedrock/eu-central-1/6-month-commitment/anthropic.claude-instant-v1,
bedrock/eu-central-1/6-month-commitment/anthropic.claude-v1,
bedrock/eu-central-1/6-month-commitment/anthropic.claude-v2:1,
bedrock/us-east-1/1-month-commitment/anthropic.claude-instant-v1,
bedrock/us-east-1/1-month-commitment/anthropic.claude-v1,
bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1,
bedrock/us-east-1/6-month-commitment/anthropic.claude-instant-v1,
bedrock/us-east-1/6-month-commitment/anthropic.claude-v1,
bedrock/us-east-1/6-month-commitment/anthropic.claude-v2:1,
bedrock/us-west-2/1-month-commitment/anthropic.claude-instant-v1,
bedrock/us-west-2/1-month-commitment/anthropic.claude-v1,
bedrock/us-west-2/1-month-commitment/anthropic.claude-v2:1,
bedrock/us-west-2/6-month-commitment/anthropic.claude-instant-v1,
bedrock/us-west-2/6-month-commitment/anthropic.claude-v1,
bedrock/us-west-2/6-month-commitment/anthropic.claude-v2:1, dashscope/qwen3-30b-a3b,
featherless_ai/featherless-ai/Qwerky-72B, featherless_ai/featherless-ai/Qwerky-QwQ-32B,
github_copilot/claude-haiku-4.5, github_copilot/claude-opus-4.5,
github_copilot/claude-opus-4.6-fast, github_copilot/claude-opus-41, github_copilot/claude-sonnet-4,
github_copilot/claude-sonnet-4.5, github_copilot/gemini-2.5-pro,
github_copilot/gemini-3-pro-preview, github_copilot/gpt-3.5-turbo,
github_copilot/gpt-3.5-turbo-0613, github_copilot/gpt-4, github_copilot/gpt-4-0613,
github_copilot/gpt-4-o-preview, github_copilot/gpt-4.1, github_copilot/gpt-4.1-2025-04-14,
github_copilot/gpt-4o, github_copilot/gpt-4o-2024-05-13, github_copilot/gpt-4o-2024-08-06,
github_copilot/gpt-4o-2024-11-20, github_copilot/gpt-4o-mini, github_copilot/gpt-4o-mini-2024-07-18,
github_copilot/gpt-5, github_copilot/gpt-5-mini, github_copilot/gpt-5.1, github_copilot/gpt-5.2,
gradient_ai/alibaba-qwen3-32b, gradient_ai/openai-gpt-4o, gradient_ai/openai-gpt-4o-mini,
heroku/claude-3-5-haiku, heroku/claude-3-5-sonnet-latest, heroku/claude-3-7-sonnet,
heroku/claude-4-sonnet, medlm-large, medlm-medium, meta_llama/Llama-3.3-70B-Instruct,
meta_llama/Llama-3.3-8B-Instruct, meta_llama/Llama-4-Maverick-17B-128E-Instruct-FP8,
meta_llama/Llama-4-Scout-17B-16E-Instruct-FP8, snowflake/claude-3-5-sonnet, snowflake/deepseek-r1,
snowflake/gemma-7b, snowflake/jamba-1.5-large, snowflake/jamba-1.5-mini, snowflake/jamba-instruct,
snowflake/llama2-70b-chat, snowflake/llama3-70b, snowflake/llama3-8b, snowflake/llama3.1-405b,
snowflake/llama3.1-70b, snowflake/llama3.1-8b, snowflake/llama3.2-1b, snowflake/llama3.2-3b,
snowflake/llama3.3-70b, snowflake/mistral-7b, snowflake/mistral-large, snowflake/mistral-large2,
snowflake/mixtral-8x7b, snowflake/reka-core, snowflake/reka-flash, snowflake/snowflake-arctic,
snowflake/snowflake-llama-3.1-405b, snowflake/snowflake-llama-3.3-70b,
together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo, together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo,
together_ai/meta-llama/Llama-3.2-3B-Instruct-Turbo, together_ai/mistralai/Mistral-7B-Instruct-v0.1,
together_ai/mistralai/Mistral-Small-24B-Instruct-2501,
together_ai/togethercomputer/CodeLlama-34b-Instruct, openai/container,
volcengine/doubao-seed-2-0-pro-260215, volcengine/doubao-seed-2-0-lite-260215,
volcengine/doubao-seed-2-0-mini-260215, volcengine/doubao-seed-2-0-code-preview-260215

Reasoning outside the completion count (36 entries, ``reasoning_outside_completion``)
-------------------------------------------------------------------------------------
LiteLLM's ``xai`` and ``perplexity`` cost functions bill reasoning tokens on top of
``completion_tokens``, because those APIs report reasoning outside the completion count. The
normalized record counts reasoning inside ``completion_tokens`` (DESIGN §3), so memory-banker bills
it once. Costs are equal whenever no reasoning tokens are reported.

perplexity/sonar-deep-research, xai/grok-2, xai/grok-2-1212, xai/grok-2-latest, xai/grok-2-vision,
xai/grok-2-vision-1212, xai/grok-2-vision-latest, xai/grok-3, xai/grok-3-beta, xai/grok-3-fast-beta,
xai/grok-3-fast-latest, xai/grok-3-latest, xai/grok-3-mini, xai/grok-3-mini-beta,
xai/grok-3-mini-fast, xai/grok-3-mini-fast-beta, xai/grok-3-mini-fast-latest,
xai/grok-3-mini-latest, xai/grok-4, xai/grok-4-fast-reasoning, xai/grok-4-fast-non-reasoning,
xai/grok-4-0709, xai/grok-4-latest, xai/grok-4-1-fast, xai/grok-4-1-fast-reasoning,
xai/grok-4-1-fast-reasoning-latest, xai/grok-4-1-fast-non-reasoning,
xai/grok-4-1-fast-non-reasoning-latest, xai/grok-4.20-multi-agent-beta-0309,
xai/grok-4.20-beta-0309-reasoning, xai/grok-4.20-beta-0309-non-reasoning, xai/grok-beta,
xai/grok-code-fast, xai/grok-code-fast-1, xai/grok-code-fast-1-0825, xai/grok-vision-beta

LiteLLM prices another entry (4 entries, ``litellm_prices_other_entry``)
------------------------------------------------------------------------
``litellm.cost_per_token(key, custom_llm_provider=provider)`` looks up ``<provider>/<key>`` first,
and that name is a different table entry with other rates; memory-banker prices the key asked for.

perplexity/sonar, gemini-flash-latest, gemini-flash-lite-latest, gemini-exp-1206

Router fee counted twice (1 entry, ``router_fee_counted_twice``)
----------------------------------------------------------------
LiteLLM prices the router entry itself (whose rate is the router's flat fee) and then adds the flat
per-input-token router fee again, counting the fee twice; memory-banker counts it once.

azure_ai/model_router
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PARITY_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "no_token_price": (
            "LiteLLM's table gives the entry no per-token input or output rate (it is priced per "
            "second or by commitment, is a free-tier placeholder, or has only a "
            "``tiered_pricing`` list that LiteLLM's generic function ignores). "
            "``litellm.cost_per_token`` returns $0 for it; memory-banker reports the cost as "
            "unknown, never $0 (DESIGN §3)."
        ),
        "reasoning_outside_completion": (
            "LiteLLM's ``xai`` and ``perplexity`` cost functions bill reasoning tokens on top of "
            "``completion_tokens``, because those APIs report reasoning outside the completion "
            "count. The normalized record counts reasoning inside ``completion_tokens`` (DESIGN "
            "§3), so memory-banker bills it once. Costs are equal whenever no reasoning tokens "
            "are reported."
        ),
        "litellm_prices_other_entry": (
            "``litellm.cost_per_token(key, custom_llm_provider=provider)`` looks up "
            "``<provider>/<key>`` first, and that name is a different table entry with other "
            "rates; memory-banker prices the key asked for."
        ),
        "router_fee_counted_twice": (
            "LiteLLM prices the router entry itself (whose rate is the router's flat fee) and "
            "then adds the flat per-input-token router fee again, counting the fee twice; memory- "
            "banker counts it once."
        ),
    }
)
"""Why each kind of exception exists, by kind."""

PARITY_EXCEPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "azure/container": "no_token_price",
        "bedrock/*/1-month-commitment/cohere.command-light-text-v14": "no_token_price",
        "bedrock/*/1-month-commitment/cohere.command-text-v14": "no_token_price",
        "bedrock/*/6-month-commitment/cohere.command-light-text-v14": "no_token_price",
        "bedrock/*/6-month-commitment/cohere.command-text-v14": "no_token_price",
        "bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/ap-northeast-1/1-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/ap-northeast-1/6-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/eu-central-1/1-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/eu-central-1/1-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/eu-central-1/1-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/eu-central-1/6-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/eu-central-1/6-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/eu-central-1/6-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/us-east-1/1-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/us-east-1/1-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/us-east-1/6-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/us-east-1/6-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/us-east-1/6-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/us-west-2/1-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/us-west-2/1-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/us-west-2/1-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "bedrock/us-west-2/6-month-commitment/anthropic.claude-instant-v1": "no_token_price",
        "bedrock/us-west-2/6-month-commitment/anthropic.claude-v1": "no_token_price",
        "bedrock/us-west-2/6-month-commitment/anthropic.claude-v2:1": "no_token_price",
        "dashscope/qwen3-30b-a3b": "no_token_price",
        "featherless_ai/featherless-ai/Qwerky-72B": "no_token_price",
        "featherless_ai/featherless-ai/Qwerky-QwQ-32B": "no_token_price",
        "github_copilot/claude-haiku-4.5": "no_token_price",
        "github_copilot/claude-opus-4.5": "no_token_price",
        "github_copilot/claude-opus-4.6-fast": "no_token_price",
        "github_copilot/claude-opus-41": "no_token_price",
        "github_copilot/claude-sonnet-4": "no_token_price",
        "github_copilot/claude-sonnet-4.5": "no_token_price",
        "github_copilot/gemini-2.5-pro": "no_token_price",
        "github_copilot/gemini-3-pro-preview": "no_token_price",
        "github_copilot/gpt-3.5-turbo": "no_token_price",
        "github_copilot/gpt-3.5-turbo-0613": "no_token_price",
        "github_copilot/gpt-4": "no_token_price",
        "github_copilot/gpt-4-0613": "no_token_price",
        "github_copilot/gpt-4-o-preview": "no_token_price",
        "github_copilot/gpt-4.1": "no_token_price",
        "github_copilot/gpt-4.1-2025-04-14": "no_token_price",
        "github_copilot/gpt-4o": "no_token_price",
        "github_copilot/gpt-4o-2024-05-13": "no_token_price",
        "github_copilot/gpt-4o-2024-08-06": "no_token_price",
        "github_copilot/gpt-4o-2024-11-20": "no_token_price",
        "github_copilot/gpt-4o-mini": "no_token_price",
        "github_copilot/gpt-4o-mini-2024-07-18": "no_token_price",
        "github_copilot/gpt-5": "no_token_price",
        "github_copilot/gpt-5-mini": "no_token_price",
        "github_copilot/gpt-5.1": "no_token_price",
        "github_copilot/gpt-5.2": "no_token_price",
        "gradient_ai/alibaba-qwen3-32b": "no_token_price",
        "gradient_ai/openai-gpt-4o": "no_token_price",
        "gradient_ai/openai-gpt-4o-mini": "no_token_price",
        "heroku/claude-3-5-haiku": "no_token_price",
        "heroku/claude-3-5-sonnet-latest": "no_token_price",
        "heroku/claude-3-7-sonnet": "no_token_price",
        "heroku/claude-4-sonnet": "no_token_price",
        "medlm-large": "no_token_price",
        "medlm-medium": "no_token_price",
        "meta_llama/Llama-3.3-70B-Instruct": "no_token_price",
        "meta_llama/Llama-3.3-8B-Instruct": "no_token_price",
        "meta_llama/Llama-4-Maverick-17B-128E-Instruct-FP8": "no_token_price",
        "meta_llama/Llama-4-Scout-17B-16E-Instruct-FP8": "no_token_price",
        "snowflake/claude-3-5-sonnet": "no_token_price",
        "snowflake/deepseek-r1": "no_token_price",
        "snowflake/gemma-7b": "no_token_price",
        "snowflake/jamba-1.5-large": "no_token_price",
        "snowflake/jamba-1.5-mini": "no_token_price",
        "snowflake/jamba-instruct": "no_token_price",
        "snowflake/llama2-70b-chat": "no_token_price",
        "snowflake/llama3-70b": "no_token_price",
        "snowflake/llama3-8b": "no_token_price",
        "snowflake/llama3.1-405b": "no_token_price",
        "snowflake/llama3.1-70b": "no_token_price",
        "snowflake/llama3.1-8b": "no_token_price",
        "snowflake/llama3.2-1b": "no_token_price",
        "snowflake/llama3.2-3b": "no_token_price",
        "snowflake/llama3.3-70b": "no_token_price",
        "snowflake/mistral-7b": "no_token_price",
        "snowflake/mistral-large": "no_token_price",
        "snowflake/mistral-large2": "no_token_price",
        "snowflake/mixtral-8x7b": "no_token_price",
        "snowflake/reka-core": "no_token_price",
        "snowflake/reka-flash": "no_token_price",
        "snowflake/snowflake-arctic": "no_token_price",
        "snowflake/snowflake-llama-3.1-405b": "no_token_price",
        "snowflake/snowflake-llama-3.3-70b": "no_token_price",
        "together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo": "no_token_price",
        "together_ai/Qwen/Qwen2.5-7B-Instruct-Turbo": "no_token_price",
        "together_ai/meta-llama/Llama-3.2-3B-Instruct-Turbo": "no_token_price",
        "together_ai/mistralai/Mistral-7B-Instruct-v0.1": "no_token_price",
        "together_ai/mistralai/Mistral-Small-24B-Instruct-2501": "no_token_price",
        "together_ai/togethercomputer/CodeLlama-34b-Instruct": "no_token_price",
        "openai/container": "no_token_price",
        "volcengine/doubao-seed-2-0-pro-260215": "no_token_price",
        "volcengine/doubao-seed-2-0-lite-260215": "no_token_price",
        "volcengine/doubao-seed-2-0-mini-260215": "no_token_price",
        "volcengine/doubao-seed-2-0-code-preview-260215": "no_token_price",
        "perplexity/sonar-deep-research": "reasoning_outside_completion",
        "xai/grok-2": "reasoning_outside_completion",
        "xai/grok-2-1212": "reasoning_outside_completion",
        "xai/grok-2-latest": "reasoning_outside_completion",
        "xai/grok-2-vision": "reasoning_outside_completion",
        "xai/grok-2-vision-1212": "reasoning_outside_completion",
        "xai/grok-2-vision-latest": "reasoning_outside_completion",
        "xai/grok-3": "reasoning_outside_completion",
        "xai/grok-3-beta": "reasoning_outside_completion",
        "xai/grok-3-fast-beta": "reasoning_outside_completion",
        "xai/grok-3-fast-latest": "reasoning_outside_completion",
        "xai/grok-3-latest": "reasoning_outside_completion",
        "xai/grok-3-mini": "reasoning_outside_completion",
        "xai/grok-3-mini-beta": "reasoning_outside_completion",
        "xai/grok-3-mini-fast": "reasoning_outside_completion",
        "xai/grok-3-mini-fast-beta": "reasoning_outside_completion",
        "xai/grok-3-mini-fast-latest": "reasoning_outside_completion",
        "xai/grok-3-mini-latest": "reasoning_outside_completion",
        "xai/grok-4": "reasoning_outside_completion",
        "xai/grok-4-fast-reasoning": "reasoning_outside_completion",
        "xai/grok-4-fast-non-reasoning": "reasoning_outside_completion",
        "xai/grok-4-0709": "reasoning_outside_completion",
        "xai/grok-4-latest": "reasoning_outside_completion",
        "xai/grok-4-1-fast": "reasoning_outside_completion",
        "xai/grok-4-1-fast-reasoning": "reasoning_outside_completion",
        "xai/grok-4-1-fast-reasoning-latest": "reasoning_outside_completion",
        "xai/grok-4-1-fast-non-reasoning": "reasoning_outside_completion",
        "xai/grok-4-1-fast-non-reasoning-latest": "reasoning_outside_completion",
        "xai/grok-4.20-multi-agent-beta-0309": "reasoning_outside_completion",
        "xai/grok-4.20-beta-0309-reasoning": "reasoning_outside_completion",
        "xai/grok-4.20-beta-0309-non-reasoning": "reasoning_outside_completion",
        "xai/grok-beta": "reasoning_outside_completion",
        "xai/grok-code-fast": "reasoning_outside_completion",
        "xai/grok-code-fast-1": "reasoning_outside_completion",
        "xai/grok-code-fast-1-0825": "reasoning_outside_completion",
        "xai/grok-vision-beta": "reasoning_outside_completion",
        "perplexity/sonar": "litellm_prices_other_entry",
        "gemini-flash-latest": "litellm_prices_other_entry",
        "gemini-flash-lite-latest": "litellm_prices_other_entry",
        "gemini-exp-1206": "litellm_prices_other_entry",
        "azure_ai/model_router": "router_fee_counted_twice",
    }
)
"""Every chat entry whose cost differs from LiteLLM's, mapped to the kind of difference."""
