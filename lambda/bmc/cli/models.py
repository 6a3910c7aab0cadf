"""``bmc models``: the model catalog, or one model's facts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from bmc.catalog.estimate import default_prices
from bmc.catalog.models import (
    Model,
    RecordRange,
    UnknownModelError,
    all_models,
    all_teachers,
    resolve_model,
    resolve_teacher,
)
from bmc.cli.common import EXIT_INVALID, EXIT_VALID, human_size, output_to_stdout


def add_parser(commands: Any) -> None:
    models = commands.add_parser(
        "models",
        help="list the model catalog, or show one model",
        description="List the model catalog, or show one model's customization types, limits, "
        "hyperparameters and serving options.",
    )
    models.add_argument(
        "model_id", nargs="?", metavar="ID", help="show this model (customization id or plain id)"
    )
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(handler=run_models, parser=models)


def run_models(args: argparse.Namespace) -> int:
    if args.model_id is None:
        models = all_models()
        with output_to_stdout() as out:
            if args.json:
                teachers = [
                    {
                        "model_id": t.model_id,
                        "invocation_id": t.invocation_id,
                        "name": t.name,
                        "regions": list(t.regions),
                    }
                    for t in all_teachers()
                ]
                payload = {"models": [model_json(m) for m in models], "distillation_teachers": teachers}
                out.write(json.dumps(payload, indent=2) + "\n")
            else:
                print_model_table(models, out)
        return EXIT_VALID
    try:
        model = resolve_model(args.model_id)
    except UnknownModelError as exc:
        print(f"bmc: {exc}", file=sys.stderr)
        return EXIT_INVALID
    with output_to_stdout() as out:
        if args.json:
            out.write(json.dumps(model_json(model), indent=2) + "\n")
        else:
            print_model(model, out)
    return EXIT_VALID


def model_json(model: Model) -> dict[str, Any]:
    prices = default_prices()
    return {
        **model.to_dict(),
        "training_price_per_1k_tokens": prices.training_price(model),
        "prices_as_of": prices.as_of,
    }


def print_model_table(models: list[Model], out: TextIO) -> None:
    rows = [
        (
            m.customization_id,
            m.name + (" (legacy)" if m.legacy else ""),
            ",".join(short_type(t) for t in m.customization_types),
            ",".join(m.regions),
        )
        for m in models
    ]
    header = ("CUSTOMIZATION ID", "NAME", "TYPES", "REGIONS")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] + "\n")
    out.write(
        "\nTypes: FT fine-tuning, CPT continued pre-training, DIST distillation. "
        "`bmc models ID` shows details.\n"
    )


def short_type(customization_type: str) -> str:
    return {"FINE_TUNING": "FT", "CONTINUED_PRE_TRAINING": "CPT", "DISTILLATION": "DIST"}.get(
        customization_type, customization_type
    )


def print_model(model: Model, out: TextIO) -> None:
    prices = default_prices()
    yes_no = {True: "yes", False: "no"}
    out.write(f"{model.name} ({model.customization_id}){' - legacy' if model.legacy else ''}\n")
    out.write(f"  also accepted: {', '.join(model.aliases[1:])}\n")
    out.write(f"  family: {model.family}; regions: {', '.join(model.regions)}\n")
    out.write(
        f"  serving: provisioned throughput {yes_no[model.provisioned_throughput]}, "
        f"on-demand deployment {yes_no[model.on_demand_deployment]}\n"
    )
    inference = model.inference
    if inference.evaluable:
        base_ids = ", ".join(
            f"{model_id} ({region})" for region, model_id in inference.base_model_ids.items()
        )
        serving = model.evaluation_serving
        temporary = (
            "on-demand deployment"
            if serving.mode == "on-demand"
            else "1 model unit of provisioned throughput"
        )
        out.write(
            f"  evaluation: {inference.api} API; base model on demand: {base_ids}; temporary serving: {temporary}\n"
        )
    else:
        out.write("  evaluation: not applicable (no text output)\n")
    if model.distillation_teachers:
        teachers = ", ".join(f"{resolve_teacher(t).name} ({t})" for t in model.distillation_teachers)
        out.write(f"  distillation teachers: {teachers}\n")
    price = prices.training_price(model)
    shown = f"{price} {prices.currency} per 1K tokens" if price is not None else "not in the price table"
    out.write(f"  training price: {shown} (example figure as of {prices.as_of}; verify live prices)\n")
    for note in model.notes:
        out.write(f"  note: {note}\n")
    for customization in model.customizations:
        limits = customization.limits
        out.write(f"\n  {customization.customization_type}: data format {customization.format.data_format}\n")
        out.write(f"    validation data: {'allowed' if customization.validation_data else 'not allowed'}\n")
        out.write(f"    training records: {limits.training_records.describe()}\n")
        if customization.validation_data:
            out.write(f"    validation records: {limits.validation_records.describe()}\n")
        if limits.total_records != RecordRange():
            out.write(f"    training and validation records together: {limits.total_records.describe()}\n")
        for label, value in (
            ("training file", limits.training_file_bytes),
            ("validation file", limits.validation_file_bytes),
        ):
            if value is not None:
                out.write(f"    {label}: at most {human_size(value)}\n")
        token_limits = [
            ("tokens per record", limits.record_tokens),
            (
                f"tokens per record when batchSize >= {limits.record_tokens_batched_from}",
                limits.record_tokens_batched,
            ),
            ("prompt tokens", limits.prompt_tokens),
            ("completion tokens", limits.completion_tokens),
        ]
        for label, value in token_limits:
            if value is not None:
                out.write(f"    {label}: at most {value:,}\n")
        if limits.recommended_min_training_records is not None:
            out.write(
                f"    recommended: at least {limits.recommended_min_training_records:,} training records\n"
            )
        if not customization.hyperparameters:
            out.write("    hyperparameters: none\n")
            continue
        out.write("    hyperparameters:\n")
        for spec in customization.hyperparameters:
            default = "required" if spec.default is None else f"default {spec.default:g}"
            special = f" or {', '.join(spec.special_values)}" if spec.special_values else ""
            condition = " (only without validation data)" if spec.only_without_validation_data else ""
            notes = f" - {spec.notes}" if spec.notes else ""
            out.write(
                f"      {spec.name:26} {spec.type:8} {spec.min:g}..{spec.max:g}{special}, "
                f"{default}{condition}{notes}\n"
            )
