"""Lineage: which bytes, which base, which parent and which settings produced a custom model.

Bedrock records only a dataset's S3 URI; this package records the rest on the registry
(docs/workflow.md, "Lineage"):

- ``datasets``: every dataset of a run as ValidateDatasets read it (version, ETag, size,
  records, SHA-256) and the run-scoped snapshot it is trained from;
- ``snapshot``: the copy of exactly the validated version to ``snapshots/<runId>/``;
- ``parents``: ``run:<runId>`` and custom model ARN bases, resolved through the registry;
- ``chain``: the steps from the foundation model to a run, for the API and ``bmc lineage``;
- ``tags``: the lineage facts that fit on the job's and model's tags;
- ``lifecycle``: base models that became LEGACY while their custom models are served.
"""
