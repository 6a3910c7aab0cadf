"""One synthesis for the whole end-to-end suite; a fresh local cloud for every scenario."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize_templates


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    return synthesize_templates(tmp_path_factory.mktemp("e2e-cdk.out"))


@pytest.fixture
def cloud(synthesized: tuple[dict[str, Any], str]) -> Iterator[LocalCloud]:
    templates, prefix = synthesized
    with LocalCloud(templates, prefix=prefix) as local_cloud:
        yield local_cloud
