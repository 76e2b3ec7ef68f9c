#!/usr/bin/env python3
"""Checks that `snop mock-llm` speaks the wire format the official `openai` package expects.

Starts nothing itself: run the mock first, then

    pip install openai
    python3 bench/openai_client_check.py http://127.0.0.1:11435/v1

It completes one chat plainly and once streamed, once with a json_schema response format, lists
the models, and asserts the shape of each reply. Exit code 0 means every check passed.
"""

import json
import sys

from openai import OpenAI

FACTS = {
    "cycle": "2026-03",
    "total_consensus_units": 1234567,
    "items": [{"sku": "SKU-0042", "consensus_units": 310500}],
}
MESSAGES = [
    {"role": "system", "content": "You summarise S&OP facts."},
    {"role": "user", "content": "Facts:\n```json\n" + json.dumps(FACTS, indent=2) + "\n```\nWrite the summary."},
]
SCHEMA = {
    "type": "object",
    "properties": {
        "headline": {"type": "string"},
        "paragraphs": {"type": "array", "items": {"type": "string"}},
        "risks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["headline", "paragraphs", "risks"],
    "additionalProperties": False,
}


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: openai_client_check.py BASE_URL   (e.g. http://127.0.0.1:11435/v1)", file=sys.stderr)
        return 2
    client = OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=10)

    models = client.models.list()
    assert any(m.id == "mock" for m in models.data), models
    print("models: ok", [m.id for m in models.data])

    plain = client.chat.completions.create(model="mock", messages=MESSAGES, temperature=0)
    assert plain.object == "chat.completion", plain
    assert len(plain.choices) == 1 and plain.choices[0].finish_reason == "stop", plain
    text = plain.choices[0].message.content
    assert plain.choices[0].message.role == "assistant"
    assert "1,234,567" in text and "SKU-0042" in text, text
    assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens > 0, plain.usage
    print("plain: ok", repr(text[:80]))

    stream = client.chat.completions.create(
        model="mock", messages=MESSAGES, temperature=0, stream=True, stream_options={"include_usage": True}
    )
    parts, finish, usage = [], None, None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk", chunk
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(parts) == text, ("".join(parts), text)
    assert finish == "stop", finish
    assert usage is not None and usage.total_tokens == plain.usage.total_tokens, usage
    print("stream: ok", len(parts), "chunks")

    structured = client.chat.completions.create(
        model="mock",
        messages=MESSAGES,
        response_format={"type": "json_schema", "json_schema": {"name": "narrative", "schema": SCHEMA, "strict": True}},
    )
    sections = json.loads(structured.choices[0].message.content)
    assert set(sections) == {"headline", "paragraphs", "risks"}, sections
    assert isinstance(sections["headline"], str) and all(isinstance(p, str) for p in sections["paragraphs"])
    print("json_schema: ok", sections["headline"])

    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
