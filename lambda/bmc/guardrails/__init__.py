"""Cost guardrails: the orphan sweeper, the idle-serving guard and the TTL second line.

A scheduled function (``bmc.handlers.sweep``) lists what Bedrock bills for this deployment
(``inventory``: throughputs, deployments, running jobs and custom models tagged with its
``bmc:prefix``), reads each one's run in the registry, and applies the rules of ``sweep``:
serving whose run does not own it is deleted, a job of a finished run is stopped, what cannot
be attributed to a run is only reported. ``idle`` reads the ``AWS/Bedrock`` invocation counts
that decide whether a serving nobody calls should be reported or deleted. ``report`` turns a
sweep into figures, a log line, metrics and a notification.
"""
