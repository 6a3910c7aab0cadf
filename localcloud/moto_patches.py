"""The moto patches' public names, kept here for existing imports: the patches themselves live
in ``localcloud.patches``, one module per seam."""

from localcloud.patches import (
    MOTO_CONFIG,
    MOTO_VERSION,
    Invocation,
    LambdaContext,
    LambdaRegistry,
    LocalCloudPatches,
    RegisteredFunction,
    RequestedWait,
    active_patches,
    install_patches,
    invoke_asynchronously,
    preprocess_definition,
    sfn_error_name,
    to_boto_params,
    to_sfn_result,
    wait_for_execution,
)

__all__ = [
    "MOTO_CONFIG",
    "MOTO_VERSION",
    "Invocation",
    "LambdaContext",
    "LambdaRegistry",
    "LocalCloudPatches",
    "RegisteredFunction",
    "RequestedWait",
    "active_patches",
    "install_patches",
    "invoke_asynchronously",
    "preprocess_definition",
    "sfn_error_name",
    "to_boto_params",
    "to_sfn_result",
    "wait_for_execution",
]
