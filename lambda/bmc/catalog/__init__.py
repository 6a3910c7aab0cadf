"""What the project knows about Bedrock models: the catalog of models and their facts
(``models``), hyperparameter checks (``hyperparameters``) and cost estimates (``estimate``).
The facts themselves live in ``bmc/data/models.json`` and ``bmc/data/prices.json``."""
