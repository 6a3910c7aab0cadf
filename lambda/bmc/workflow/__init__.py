"""The workflow's domain steps, called by the thin handlers: following the training job,
serving the model, collecting metrics, cleaning up and notifying."""
