"""Generate examples/: small, realistic datasets and run specs for every customization type and
model family in the catalog, and one broken file per common mistake with the exact output of
``bmc validate`` for it.

The datasets are written for this project (a support assistant for an online shop, product
photos, a manual for continued pre-training), from fixed seeds: running the script again gives
the same bytes. ``tests/unit/test_examples.py`` checks that every example is valid for its
model, that its run spec is valid, that the files match this script, and that each mistake's
output is still exactly what is recorded.

    .venv/bin/python scripts/make_examples.py          # rewrite examples/
    .venv/bin/python scripts/make_examples.py --check  # exit 1 if examples/ differs
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BUCKET = "s3://my-datasets/examples"  # where the run specs expect the files to be uploaded
SCHEMA = "bedrock-conversation-2024"

Record = dict[str, Any]

# --- the material: a support assistant for an online shop ----------------------------------

PRODUCTS = (
    "trail running shoes",
    "rain jacket",
    "merino wool socks",
    "insulated water bottle",
    "35-litre hiking backpack",
    "camping stove",
    "down sleeping bag",
    "headlamp",
    "trekking poles",
    "two-person tent",
)
QUESTIONS = (
    (
        "Where is my order {order}? I ordered the {product} last week.",
        "Order {order} left our warehouse on {day} and should arrive within {days} working days. "
        "You can follow it with the tracking link in your confirmation e-mail.",
    ),
    (
        "Can I return the {product} if it does not fit?",
        "Yes. Unused items can be returned within 30 days of delivery. Start the return from "
        "your account page and print the prepaid label; the refund follows within {days} days.",
    ),
    (
        "Does the {product} come with a warranty?",
        "The {product} has a two-year warranty against manufacturing defects. Keep your receipt "
        "and contact us with a photo of the problem.",
    ),
    (
        "How do I clean the {product}?",
        "Rinse the {product} with lukewarm water and a mild soap, then let it dry away from direct "
        "heat. Avoid the tumble dryer.",
    ),
    (
        "Is the {product} in stock in the larger size?",
        "The larger size of the {product} is back in stock on {day}. Add it to your wish list and "
        "we will e-mail you when it ships.",
    ),
    (
        "Can I change the delivery address for order {order}?",
        "If order {order} has not shipped yet, you can change the address from your account page. "
        "Once it has shipped, the carrier can redirect it for a small fee.",
    ),
    (
        "What is the difference between the {product} and the lighter model?",
        "The lighter model saves about {grams} grams but uses a thinner fabric. For regular use the "
        "{product} lasts longer; for racing the lighter one is the better choice.",
    ),
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
SYSTEM = "You are the support assistant of an outdoor equipment shop. Answer briefly and politely."
CAPTIONS = (
    "a {color} {product} on a wooden table, studio light",
    "a hiker wearing a {color} {product} on a mountain trail at sunrise",
    "close-up of the {color} {product}, white background",
    "a {color} {product} next to a lake, overcast sky",
)
COLORS = ("red", "blue", "green", "black", "orange", "grey")
MANUAL = (
    "Pitch the tent on level ground and clear away stones and sticks first.",
    "Insert the poles into the sleeves, then clip the inner tent to the frame.",
    "Stake out the corners at a 45 degree angle, pointing away from the tent.",
    "Tension the guy lines evenly; a tight fly sheds rain and wind better.",
    "Open both vents at night to reduce condensation on the inside of the fly.",
    "Dry the tent completely before storing it, or mildew will damage the coating.",
    "Clean the stove burner with a soft brush after every trip.",
    "Check the fuel line O-ring for cracks before connecting a canister.",
)


def support_exchange(rng: random.Random) -> tuple[str, str]:
    question, answer = rng.choice(QUESTIONS)
    values = {
        "order": f"{rng.randint(100000, 999999)}",
        "product": rng.choice(PRODUCTS),
        "day": rng.choice(DAYS),
        "days": rng.randint(2, 7),
        "grams": rng.choice((80, 120, 150, 200)),
    }
    return question.format(**values), answer.format(**values)


def conversation(rng: random.Random, *, answer: bool = True, turns: int = 1, system: bool = True) -> Record:
    messages: list[Record] = []
    for turn in range(turns):
        question, reply = support_exchange(rng)
        messages.append({"role": "user", "content": [{"text": question}]})
        if answer or turn < turns - 1:
            messages.append({"role": "assistant", "content": [{"text": reply}]})
    record: Record = {"schemaVersion": SCHEMA}
    if system:
        record["system"] = [{"text": SYSTEM}]
    record["messages"] = messages
    return record


def conversation_with_image(rng: random.Random, index: int, image_format: str = "jpeg") -> Record:
    product = rng.choice(PRODUCTS)
    extension = "jpg" if image_format == "jpeg" else image_format
    image = {
        "image": {
            "format": image_format,
            "source": {"s3Location": {"uri": f"{BUCKET}/images/product-{index:03d}.{extension}"}},
        }
    }
    return {
        "schemaVersion": SCHEMA,
        "system": [{"text": SYSTEM}],
        "messages": [
            {"role": "user", "content": [image, {"text": "Which product is this, and what is it for?"}]},
            {
                "role": "assistant",
                "content": [
                    {"text": f"This is our {product}. It is made for multi-day trips in the mountains."}
                ],
            },
        ],
    }


def reasoning_conversation(rng: random.Random) -> Record:
    record = conversation(rng)
    record["messages"][1]["content"].insert(
        0,
        {
            "reasoningContent": {
                "reasoningText": {
                    "text": "The customer asks about an order or a product; answer with the shop's policy."
                }
            }
        },
    )
    return record


def haiku(rng: random.Random) -> Record:
    question, reply = support_exchange(rng)
    return {
        "system": SYSTEM,
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reply}],
    }


def prompt_completion(rng: random.Random) -> Record:
    question, reply = support_exchange(rng)
    return {"prompt": f"Customer: {question}\nSupport:", "completion": f" {reply}"}


def manual_page(rng: random.Random) -> Record:
    return {"input": " ".join(rng.sample(MANUAL, k=rng.randint(3, 6)))}


def caption(rng: random.Random, index: int) -> Record:
    text = rng.choice(CAPTIONS).format(color=rng.choice(COLORS), product=rng.choice(PRODUCTS))
    return {
        "image-ref": f"{BUCKET}/images/product-{index:03d}.{'png' if index % 3 == 0 else 'jpg'}",
        "caption": text,
    }


# --- the examples ------------------------------------------------------------------------------


@dataclass
class Example:
    name: str
    model: str
    customization_type: str
    train: list[Record]
    validation: list[Record] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    teacher: str | None = None

    def run_spec(self) -> Record:
        spec: Record = {
            "runName": self.name,
            "baseModel": self.model,
            "customizationType": self.customization_type,
            "trainingData": f"{BUCKET}/{self.name}/train.jsonl",
        }
        if self.validation:
            spec["validationData"] = [f"{BUCKET}/{self.name}/validation.jsonl"]
        if self.hyperparameters:
            spec["hyperparameters"] = self.hyperparameters
        if self.teacher:
            spec["distillation"] = {"teacherModel": self.teacher, "maxResponseLength": 1000}
        return spec


def examples() -> list[Example]:
    def many(count: int, make: Callable[[random.Random], Record], seed: int) -> list[Record]:
        rng = random.Random(seed)
        return [make(rng) for _ in range(count)]

    rng = random.Random(11)
    return [
        Example(
            "nova-micro-fine-tuning",
            "amazon.nova-micro-v1:0:128k",
            "FINE_TUNING",
            many(120, lambda r: conversation(r, turns=r.randint(1, 2)), 1),
            many(20, conversation, 2),
            {"epochCount": 2, "learningRate": "1e-5"},
        ),
        Example(
            "nova-lite-fine-tuning-images",
            "amazon.nova-lite-v1:0:300k",
            "FINE_TUNING",
            [conversation_with_image(rng, i) for i in range(40)],
            [],
            {"epochCount": 2},
        ),
        Example(
            "nova-2-lite-fine-tuning-reasoning",
            "amazon.nova-2-lite-v1:0:256k",
            "FINE_TUNING",
            many(200, reasoning_conversation, 3),
            [],
            {"epochCount": 1},
        ),
        Example(
            "nova-micro-distillation",
            "amazon.nova-micro-v1:0:128k",
            "DISTILLATION",
            many(120, lambda r: conversation(r, answer=r.random() < 0.3), 4),
            teacher="amazon.nova-pro-v1:0",
        ),
        Example(
            "claude-3-haiku-fine-tuning",
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "FINE_TUNING",
            many(64, haiku, 5),
            many(16, haiku, 6),
            {"epochCount": 2, "batchSize": 8},
        ),
        Example(
            "llama-3-1-fine-tuning",
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "FINE_TUNING",
            many(100, prompt_completion, 7),
            many(10, prompt_completion, 8),
            {"epochCount": 2},
        ),
        Example(
            "llama-3-1-distillation",
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "DISTILLATION",
            many(110, lambda r: conversation(r, answer=False), 9),
            teacher="meta.llama3-1-70b-instruct-v1:0",
        ),
        Example(
            "llama-3-2-fine-tuning",
            "meta.llama3-2-3b-instruct-v1:0:128k",
            "FINE_TUNING",
            many(100, conversation, 10),
            many(10, conversation, 12),
            {"epochCount": 2},
        ),
        Example(
            "llama-3-2-vision-fine-tuning",
            "meta.llama3-2-11b-instruct-v1:0:128k",
            "FINE_TUNING",
            [conversation_with_image(random.Random(13), i, "png") for i in range(100)],
            [],
            {"epochCount": 2},
        ),
        Example(
            "llama-3-3-fine-tuning",
            "meta.llama3-3-70b-instruct-v1:0:128k",
            "FINE_TUNING",
            many(90, lambda r: conversation(r, turns=r.randint(1, 3)), 22),
            many(10, conversation, 23),
            {"epochCount": 1},
        ),
        Example(
            "llama-3-2-distillation",
            "meta.llama3-2-1b-instruct-v1:0:128k",
            "DISTILLATION",
            many(100, lambda r: conversation(r, answer=r.random() < 0.5), 24),
            teacher="meta.llama3-1-70b-instruct-v1:0",
        ),
        Example(
            "llama-3-3-distillation",
            "meta.llama3-3-70b-instruct-v1:0:128k",
            "DISTILLATION",
            many(100, lambda r: conversation(r, answer=False), 25),
            teacher="meta.llama3-1-405b-instruct-v1:0",
        ),
        Example(
            "titan-text-fine-tuning",
            "amazon.titan-text-express-v1:0:8k",
            "FINE_TUNING",
            many(60, prompt_completion, 14),
            many(10, prompt_completion, 15),
            {"epochCount": 2, "batchSize": 1},
        ),
        Example(
            "titan-text-continued-pre-training",
            "amazon.titan-text-lite-v1:0:4k",
            "CONTINUED_PRE_TRAINING",
            many(80, manual_page, 16),
            many(10, manual_page, 17),
            {"epochCount": 1},
        ),
        Example(
            "cohere-command-fine-tuning",
            "cohere.command-light-text-v14:7:4k",
            "FINE_TUNING",
            many(60, prompt_completion, 18),
            [],
            {"epochCount": 2},
        ),
        Example(
            "titan-image-generator-fine-tuning",
            "amazon.titan-image-generator-v1:0",
            "FINE_TUNING",
            [caption(random.Random(19 + i), i) for i in range(12)],
            [],
            {"stepCount": 500, "batchSize": 8},
        ),
        Example(
            "titan-multimodal-embeddings-fine-tuning",
            "amazon.titan-embed-image-v1:0",
            "FINE_TUNING",
            [caption(random.Random(40 + i), i) for i in range(1000)],
            [],
            {"epochCount": 2},
        ),
    ]


# --- the mistakes: one broken file each, with what `bmc validate` says -----------------------


@dataclass
class Mistake:
    name: str  # file name under examples/mistakes/
    description: str
    content: bytes
    args: list[str]  # the bmc validate flags before the file


def jsonl(records: list[Record]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def mistakes() -> list[Mistake]:
    nova = ["--base-model", "amazon.nova-micro-v1", "--customization-type", "FINE_TUNING"]
    titan = ["--base-model", "amazon.titan-text-express-v1", "--customization-type", "FINE_TUNING"]
    rng = random.Random(21)
    records = [conversation(rng) for _ in range(10)]
    openai = []
    for record in records:
        question = record["messages"][0]["content"][0]["text"]
        answer = record["messages"][1]["content"][0]["text"]
        openai.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    split = b"".join(
        json.dumps(record, indent=2).encode() + b"\n"
        for record in [conversation(random.Random(30 + i)) for i in range(3)]
    )
    multiline = b"".join(
        json.dumps({"prompt": p["prompt"], "completion": p["completion"]}).replace("\\n", "\n").encode()
        + b"\n"
        for p in [prompt_completion(random.Random(50 + i)) for i in range(10)]
    )
    reserved = [conversation(random.Random(60 + i)) for i in range(10)]
    reserved[3]["messages"][0]["content"][0]["text"] = "User: where is my order 123456?"
    reserved[6]["system"][0]["text"] = "System: you answer in English only."
    reserved[8]["messages"][1]["content"][0]["text"] = "Check the payment system: it shows every charge."
    return [
        Mistake(
            "json-array.json",
            "a JSON array instead of JSON Lines",
            json.dumps(records, indent=2).encode() + b"\n",
            nova,
        ),
        Mistake(
            "unescaped-newlines.jsonl", "line breaks inside text written as real newlines", multiline, titan
        ),
        Mistake("pretty-printed.jsonl", "records split across lines", split, nova),
        Mistake("openai-messages.jsonl", "OpenAI chat messages sent to Nova", jsonl(openai), nova),
        Mistake(
            "titan-input-output.jsonl",
            "input/output records for Titan Text fine-tuning",
            jsonl(
                [
                    {"input": p["prompt"], "output": p["completion"]}
                    for p in [prompt_completion(random.Random(70 + i)) for i in range(10)]
                ]
            ),
            titan,
        ),
        Mistake(
            "rft-dataset.jsonl",
            "a reinforcement fine-tuning dataset sent to fine-tuning",
            jsonl(
                [
                    {"messages": [{"role": "user", "content": q}], "reference_answer": {"answer": a}}
                    for q, a in [support_exchange(random.Random(80 + i)) for i in range(10)]
                ]
            ),
            nova,
        ),
        Mistake(
            "reserved-keywords.jsonl",
            "Nova's reserved keywords in prompts (and a harmless mention)",
            jsonl(reserved),
            nova,
        ),
        Mistake(
            "image-formats.jsonl",
            "an image format Titan Image Generator does not take",
            jsonl(
                [caption(random.Random(90 + i), i) for i in range(7)]
                + [{"image-ref": f"{BUCKET}/images/banner.webp", "caption": "a blue tent at dusk"}]
            ),
            [
                "--base-model",
                "amazon.titan-image-generator-v1",
                "--customization-type",
                "FINE_TUNING",
                "--hyperparameters",
                '{"stepCount": 500}',
            ],
        ),
    ]


# --- writing and checking ----------------------------------------------------------------------


def rendered() -> dict[Path, bytes]:
    """Every file of examples/, by path, with its bytes."""
    files: dict[Path, bytes] = {}
    index = [
        "# Examples",
        "",
        "Generated by `scripts/make_examples.py`; every dataset is valid for its model "
        "(`tests/unit/test_examples.py`).",
        "",
        "| example | model | type | records |",
        "|---|---|---|---|",
    ]
    for example in examples():
        folder = EXAMPLES / example.name
        files[folder / "train.jsonl"] = jsonl(example.train)
        if example.validation:
            files[folder / "validation.jsonl"] = jsonl(example.validation)
        files[folder / "run-spec.json"] = (json.dumps(example.run_spec(), indent=2) + "\n").encode()
        counts = f"{len(example.train):,}" + (f" + {len(example.validation):,}" if example.validation else "")
        index.append(
            f"| [{example.name}]({example.name}/) | `{example.model}` | {example.customization_type} | {counts} |"
        )
    index += [
        "",
        "## Mistakes",
        "",
        "Each file in `mistakes/` holds one common mistake; `<file>.txt` is the command "
        "and its exact output.",
        "",
    ]
    for mistake in mistakes():
        path = EXAMPLES / "mistakes" / mistake.name
        files[path] = mistake.content
        files[path.with_name(path.name + ".txt")] = transcript(mistake).encode()
        index.append(f"- [{mistake.name}](mistakes/{mistake.name}.txt): {mistake.description}")
    files[EXAMPLES / "README.md"] = ("\n".join(index) + "\n").encode()
    return files


def command(mistake: Mistake) -> list[str]:
    return ["bmc", "validate", *mistake.args, f"examples/mistakes/{mistake.name}"]


def run_bmc(argv: list[str]) -> tuple[int, str]:
    """``bmc`` in process, from the repository root: exit code and stdout then stderr."""
    from bmc.cli import main as cli

    out, err = io.StringIO(), io.StringIO()
    with _cwd(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv[1:])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue() + err.getvalue()


def transcript(mistake: Mistake) -> str:
    argv = command(mistake)
    code, output = run_bmc(argv)
    return f"$ {shlex.join(argv)}\n{output}(exit code {code})\n"


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    import os

    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if examples/ differs from what this writes"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "lambda"))
    if not args.check:
        # The transcripts run bmc on the mistake files: write those first.
        for mistake in mistakes():
            path = EXAMPLES / "mistakes" / mistake.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mistake.content)
    files = rendered()
    if args.check:
        stale = [path for path, content in files.items() if not path.exists() or path.read_bytes() != content]
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    print(f"wrote {len(files)} files under {EXAMPLES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
