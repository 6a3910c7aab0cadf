"""Lambda entry points, one module per function (docs/workflow.md names them).

Handlers only translate events: they read the event and the environment, call the domain
modules of ``bmc`` and shape the return value. Step Functions tasks receive
``{"state", "execution"}`` (``bmc.handlers._task.TaskEvent``); the out-of-band functions receive
EventBridge events.
"""
