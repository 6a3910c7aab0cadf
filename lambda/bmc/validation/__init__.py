"""Dataset validation: record format checkers, the streaming validator, token estimates."""

from bmc.validation.report import DatasetStats, ValidationReport
from bmc.validation.validator import check_allowed_codes, validate_datasets

__all__ = ["DatasetStats", "ValidationReport", "check_allowed_codes", "validate_datasets"]
