"""Finding a model or teacher in the packaged catalog by any id users give: customization id,
plain id, foundation model id or ARN, with "did you mean" suggestions when none matches."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from bmc.catalog.models.facts import Catalog, Model, Teacher, UnknownModelError
from bmc.catalog.models.loading import packaged_catalog

_ARN_PREFIX = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:foundation-model/")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:bedrock:([a-z0-9-]*):\d*:foundation-model/")


def all_models() -> list[Model]:
    return list(packaged_catalog().models)


def all_teachers() -> list[Teacher]:
    return list(packaged_catalog().teachers)


def resolve_model(model_id: str) -> Model:
    """Find a model by customization id, plain id, foundation model id or foundation model ARN."""
    catalog = packaged_catalog()
    _refuse_unknown_region(model_id, catalog)
    model = catalog.by_alias.get(_normalize_id(model_id))
    if model is None:
        raise UnknownModelError(_unknown_message("model", model_id, close_matches(model_id)))
    return model


def resolve_teacher(model_id: str) -> Teacher:
    catalog = packaged_catalog()
    _refuse_unknown_region(model_id, catalog)
    teacher = catalog.teachers_by_id.get(_normalize_id(model_id))
    if teacher is None:
        suggestions = _suggest(_normalize_id(model_id), {t: t for t in catalog.teachers_by_id}, 3)
        raise UnknownModelError(_unknown_message("distillation teacher", model_id, suggestions))
    return teacher


def close_matches(model_id: str, limit: int = 3) -> list[str]:
    """Customization ids of the models whose ids look like ``model_id`` ("did you mean")."""
    catalog = packaged_catalog()
    canonical = {alias: model.customization_id for alias, model in catalog.by_alias.items()}
    return _suggest(_normalize_id(model_id), canonical, limit)


def arn_region(model_id: str) -> str | None:
    """The region a foundation model ARN names (``""`` when empty); None for a plain id."""
    match = _ARN_REGION.match(model_id.strip().lower())
    return match.group(1) if match else None


def _refuse_unknown_region(model_id: str, catalog: Catalog) -> None:
    """An ARN naming a region no catalog entry is offered in is refused, not read as its model id."""
    region = arn_region(model_id)
    if region is None:
        return
    known = {r for model in catalog.models for r in model.regions} | {
        r for teacher in catalog.teachers for r in teacher.regions
    }
    if region not in known:
        raise UnknownModelError(
            f"{model_id!r} names the region {region!r}, where the catalog offers no model; "
            f"give the model id or an ARN of one of: {', '.join(sorted(known))}"
        )


def _normalize_id(model_id: str) -> str:
    return _ARN_PREFIX.sub("", model_id.strip().lower())


def _suggest(key: str, canonical: Mapping[str, str], limit: int) -> list[str]:
    """Close matches among the keys of ``canonical``, reported as their canonical ids."""
    aliases = list(canonical)
    # Prefix and substring matches are the most useful hints ("meta.llama3-2", "haiku").
    prefixed = [a for a in aliases if key and a.startswith(key)]
    contained = [a for a in aliases if len(key) >= 3 and key in a]
    similar = difflib.get_close_matches(key, aliases, n=limit * 4, cutoff=0.6)
    return list(dict.fromkeys(canonical[a] for a in prefixed + contained + similar))[:limit]


def _unknown_message(kind: str, model_id: str, suggestions: list[str]) -> str:
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    return f"unknown {kind} {model_id!r}{hint} (`bmc models` lists the catalog)"
