"""Every patch of moto internals the local cloud needs (moto is pinned: ``MOTO_VERSION``).

moto runs real Amazon States Language (a port of LocalStack's interpreter) when started with
``mock_aws(config=MOTO_CONFIG)``. These gaps keep it from running this project's synthesized
state machine faithfully; each is bridged by replacing a moto internal for as long as the
patches are installed (``install_patches``; the patched names are checked before anything is
replaced). One module per seam, each explaining what AWS does and why its patches exist:

- ``lambdas``: 1. Lambda handlers run in process, with the function's environment, a Lambda
  context (remaining time on the simulated clock) and AWS's error payload (and, for scenarios,
  callbacks after a function's next successful invocation); 9. ``os.environ``
  gets a thread-local layer for the running handler's variables.
- ``sdk``: 2. ``aws-sdk:`` and forwarded optimized integrations map parameters, responses and
  errors through the botocore operation model, as AWS does.
- ``waits``: 3. Wait states and Retry backoffs return at once and advance the simulated clock;
  4. ``Wait`` on a timestamp measures against the simulated clock.
- ``events``: 5. unnamed executions get a UUID; 6. SendTaskFailure keeps its cause;
  7. EventBridge rules invoke Lambda targets; 8. StopExecution wakes a waiting task and emits
  the ABORTED status-change event; 10. asynchronous invocations are retried, then handed to the
  on-failure destination; 16. a Fail state may fail with a ``States.`` error it is given.
- ``s3``: 11. bucket policies are evaluated with their conditions, and a missing key is a 403
  for a caller that may not list it; 18. conditional copies (``If-None-Match: *``, the copy
  source's ``If-Match``) answer 412 as S3 does.
- ``distributed_map``: 12. EXPRESS, ItemBatcher, WriterConfig and integer percentages get past
  moto's grammar; 13. items are batched as AWS delivers them, failed children counted and the
  tolerated failure thresholds applied; 14. children run concurrently on the simulated clock;
  15. ResultWriter writes the result files and manifest.
- ``core``: 17. not a moto patch, but installed with them: the runtime package's one clock
  (``bmc.aws.registry.utc_now``) reads the simulated clock (plus the real time since it last
  moved, so it never stands still), and the registry's timestamps and TTLs agree with the
  simulated Bedrock's resource times and the rules' event times, as all clocks agree in AWS.
"""

from localcloud.patches.core import (
    MOTO_CONFIG,
    MOTO_VERSION,
    LocalCloudPatches,
    active_patches,
    install_patches,
    wait_for_execution,
)
from localcloud.patches.events import invoke_asynchronously
from localcloud.patches.lambdas import Invocation, LambdaContext, LambdaRegistry, RegisteredFunction
from localcloud.patches.map_definition import preprocess_definition
from localcloud.patches.sdk import sfn_error_name, to_boto_params, to_sfn_result
from localcloud.patches.waits import RequestedWait

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
