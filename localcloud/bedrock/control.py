"""The simulated control plane: what each Bedrock API call does to one account and region.

``SimulatedBedrockBackend`` is the moto backend the HTTP layer (``responses``) serves from: the
account's shared state (``account``), customization jobs and custom models
(``customization``) and serving (``serving``), brought up to date by ``lifecycle``.
"""

from __future__ import annotations

from datetime import datetime

from localcloud.bedrock import lifecycle
from localcloud.bedrock.customization import CustomizationControl
from localcloud.bedrock.serving import ServingControl


class SimulatedBedrockBackend(CustomizationControl, ServingControl):
    """One account and region of the simulated Bedrock. All calls hold the simulator's lock."""

    def process(self, now: datetime) -> None:
        """Apply every transition due at ``now`` (``lifecycle``)."""
        lifecycle.process(self, now)
