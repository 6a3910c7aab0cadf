"""The workflow's Lambda functions and what each one may do (one least-privilege role each).

`WorkflowLambdas` (``lambdas``) is the construct; it adds the functions one group of the run at
a time, each group with the grants of its functions: ``preparation`` (prepare, validate,
preflight, snapshot), ``training`` (start, submit, await, job events, reconcile, metrics),
``serving`` (serve, expiry and the scheduler's role) and ``outcome`` (cleanup, execution ended,
report, notify). ``grants`` holds the grants they share, ``props`` what the construct is given.
The groups add to the one construct, in the order of the run, so every logical id stays put.
"""

from constructs_lib.workflow_functions.lambdas import WorkflowLambdas
from constructs_lib.workflow_functions.props import ServingDefaults, WorkflowResources, WorkflowSettings

__all__ = ["ServingDefaults", "WorkflowLambdas", "WorkflowResources", "WorkflowSettings"]
