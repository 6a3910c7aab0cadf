"""Evaluating a custom model against its base model (docs/evaluation.md).

Modules: ``dataset`` (the test set: Bedrock's evaluation-dataset JSONL, streamed and checked),
``generation`` (asking a model: Converse or InvokeModel, retries, recorded failures), ``judge``
(LLM-as-a-judge ratings), ``metrics`` (the judge-free metrics, on rouge-score and sacrebleu),
``bootstrap`` (paired-bootstrap intervals of deltas), ``results`` (one evaluated record),
``summary`` (evaluation.json and predictions.jsonl), ``gate`` (keep or reject the model) and
``batch`` (what one Distributed Map child does).
"""
