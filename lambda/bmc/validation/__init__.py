"""Dataset validation: record format checkers, the streaming validator, token estimates."""

from bmc.validation.validator import DatasetStats, ValidationReport, validate_datasets

__all__ = ["DatasetStats", "ValidationReport", "validate_datasets"]
