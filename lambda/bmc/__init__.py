"""Runtime package for Amazon Bedrock model customization.

Domain code (model catalog, dataset validation, run specs, registry, Bedrock calls) lives in
plain modules; `bmc.handlers` holds the Lambda entry points, which only translate events.
The same package backs the `bmc` command line tool and the local cloud.
"""

__version__ = "0.1.0"
