"""Small, deterministic sample datasets in each Bedrock format, for the demo and the scenarios."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

_TOPICS = (
    (
        "reset my router",
        "Hold the reset button for 10 seconds until the light blinks amber, then wait two minutes.",
    ),
    (
        "change the Wi-Fi password",
        "Open the admin page at 192.168.1.1, choose Wireless, then Security, and save.",
    ),
    ("update the firmware", "In the admin page choose System, then Firmware, and select Check for updates."),
    (
        "set up a guest network",
        "Choose Wireless, then Guest network, switch it on and pick a separate password.",
    ),
    (
        "find my router's IP address",
        "It is printed on the label under the router; the default is 192.168.1.1.",
    ),
    (
        "extend the Wi-Fi range",
        "Place the router centrally and high, away from metal, or add a mesh satellite.",
    ),
    ("block a device", "Choose Devices, select the device and pick Block; it loses access immediately."),
    (
        "enable parental controls",
        "Choose Family, create a profile, add the devices and set the allowed hours.",
    ),
)
SYSTEM_PROMPT = "You are a concise support agent for Acme home routers."
# Evaluation test sets report per category.
_CATEGORIES = {
    "reset my router": "maintenance",
    "change the Wi-Fi password": "security",
    "update the firmware": "maintenance",
    "set up a guest network": "wifi",
    "find my router's IP address": "setup",
    "extend the Wi-Fi range": "wifi",
    "block a device": "security",
    "enable parental controls": "security",
}


def _questions(count: int) -> Iterator[tuple[str, str]]:
    for index in range(count):
        topic, answer = _TOPICS[index % len(_TOPICS)]
        yield f"Customer #{index + 1} asks: how do I {topic}?", answer


def conversation_records(count: int) -> Iterator[dict[str, object]]:
    """bedrock-conversation-2024 (Nova, Llama 3.2+), one user and one assistant turn."""
    for question, answer in _questions(count):
        yield {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": [
                {"role": "user", "content": [{"text": question}]},
                {"role": "assistant", "content": [{"text": answer}]},
            ],
        }


def distillation_prompts(count: int) -> Iterator[dict[str, object]]:
    """bedrock-conversation-2024 prompts ending on the user turn: the teacher writes the answers."""
    for question, _ in _questions(count):
        yield {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": question}]}],
        }


def prompt_completion_records(count: int) -> Iterator[dict[str, object]]:
    """{"prompt", "completion"} (Titan text, Cohere, Llama 3.1)."""
    for question, answer in _questions(count):
        yield {"prompt": question, "completion": answer}


def pretraining_records(count: int) -> Iterator[dict[str, object]]:
    """{"input"} (continued pre-training on Titan Express / Lite)."""
    for index, (topic, answer) in zip(range(count), (t for _ in range(count) for t in _TOPICS), strict=False):
        yield {"input": f"Acme router manual, section {index + 1}: to {topic}. {answer}"}


def evaluation_records(count: int) -> Iterator[dict[str, object]]:
    """Bedrock's evaluation-dataset shape: held-out questions on the training topics."""
    for index in range(count):
        topic, answer = _TOPICS[index % len(_TOPICS)]
        yield {
            "prompt": f"Support ticket {index + 1}: how can I {topic}?",
            "referenceResponse": answer,
            "category": _CATEGORIES[topic],
        }


def known_answer(prompt: str) -> tuple[str, str] | None:
    """(topic, reference answer) of a sample question, training or evaluation: the
    deterministic question -> answer function the simulated models know."""
    lowered = prompt.lower()
    for topic, answer in _TOPICS:
        if topic.lower() in lowered:
            return topic, answer
    return None


def topics_in(text: str) -> frozenset[str]:
    """The sample topics whose answers a text (a training file) contains."""
    return frozenset(topic for topic, answer in _TOPICS if answer in text or json.dumps(answer)[1:-1] in text)


FORMATS: dict[str, Callable[[int], Iterator[dict[str, object]]]] = {
    "conversation": conversation_records,
    "distillation": distillation_prompts,
    "prompt-completion": prompt_completion_records,
    "pretraining": pretraining_records,
    "evaluation": evaluation_records,
}


def jsonl(kind: str, count: int) -> str:
    return "".join(json.dumps(record) + "\n" for record in FORMATS[kind](count))
