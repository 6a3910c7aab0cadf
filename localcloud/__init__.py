"""The local cloud: the synthesized workflow running offline in moto.

- ``clock.SimClock``: simulated time shared by everything below.
- ``patches``: in-process Lambda handlers, SDK integrations mapped like AWS, instant but
  recorded waits (``install_patches``).
- ``bedrock.BedrockSimulator``: a scripted Bedrock control plane for model customization.
"""

from localcloud.bedrock import (
    BedrockEvent,
    BedrockSimulator,
    FoundationModel,
    JobScript,
    ProvisioningScript,
    ScriptedError,
    quota_exceeded,
    role_not_assumable,
    throttling,
)
from localcloud.clock import SimClock
from localcloud.patches import (
    MOTO_CONFIG,
    LambdaContext,
    LocalCloudPatches,
    install_patches,
    wait_for_execution,
)

__all__ = [
    "MOTO_CONFIG",
    "BedrockEvent",
    "BedrockSimulator",
    "FoundationModel",
    "JobScript",
    "LambdaContext",
    "LocalCloudPatches",
    "ProvisioningScript",
    "ScriptedError",
    "SimClock",
    "install_patches",
    "quota_exceeded",
    "role_not_assumable",
    "throttling",
    "wait_for_execution",
]
