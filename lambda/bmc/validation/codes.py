"""Finding codes of the dataset validator (docs/validation.md describes each one).

Codes are a stable interface: reports, the workflow and users' scripts match on them.
Hyperparameter codes live in ``bmc.catalog.hyperparameters``.
"""

# Request level
UNKNOWN_MODEL = "UNKNOWN_MODEL"
MODEL_NOT_IN_REGION = "MODEL_NOT_IN_REGION"
VALIDATION_DATA_NOT_ALLOWED = "VALIDATION_DATA_NOT_ALLOWED"
TOO_MANY_VALIDATION_FILES = "TOO_MANY_VALIDATION_FILES"

# File level (line is null)
FILE_NOT_FOUND = "FILE_NOT_FOUND"
FILE_ACCESS_DENIED = "FILE_ACCESS_DENIED"
FILE_READ_ERROR = "FILE_READ_ERROR"
INVALID_S3_URI = "INVALID_S3_URI"
FILE_TOO_LARGE = "FILE_TOO_LARGE"
EMPTY_FILE = "EMPTY_FILE"
TOO_FEW_RECORDS = "TOO_FEW_RECORDS"
TOO_MANY_RECORDS = "TOO_MANY_RECORDS"
FEW_RECORDS = "FEW_RECORDS"  # warning: below the recommended size
UNREADABLE_INPUT = frozenset((FILE_NOT_FOUND, FILE_ACCESS_DENIED, FILE_READ_ERROR))

# Line level
EMPTY_LINE = "EMPTY_LINE"
UTF8_BOM = "UTF8_BOM"
INVALID_UTF8 = "INVALID_UTF8"
INVALID_JSON = "INVALID_JSON"
LINE_TOO_LONG = "LINE_TOO_LONG"
NOT_AN_OBJECT = "NOT_AN_OBJECT"

# Record level (field is a JSON path)
MISSING_FIELD = "MISSING_FIELD"
WRONG_TYPE = "WRONG_TYPE"
EMPTY_VALUE = "EMPTY_VALUE"
INVALID_VALUE = "INVALID_VALUE"
VALUE_TOO_LONG = "VALUE_TOO_LONG"
VALUE_TOO_SHORT = "VALUE_TOO_SHORT"
UNKNOWN_FIELD = "UNKNOWN_FIELD"  # warning
SCHEMA_VERSION = "SCHEMA_VERSION"  # warning
FIRST_MESSAGE_NOT_USER = "FIRST_MESSAGE_NOT_USER"
ROLES_NOT_ALTERNATING = "ROLES_NOT_ALTERNATING"
LAST_MESSAGE_NOT_ASSISTANT = "LAST_MESSAGE_NOT_ASSISTANT"
TOO_MANY_TURNS = "TOO_MANY_TURNS"
INVALID_CONTENT_BLOCK = "INVALID_CONTENT_BLOCK"
RESERVED_STRING = "RESERVED_STRING"
RESERVED_STRING_MENTION = "RESERVED_STRING_MENTION"  # warning
MEDIA_NOT_SUPPORTED = "MEDIA_NOT_SUPPORTED"
TOO_MANY_MEDIA = "TOO_MANY_MEDIA"
MIXED_MEDIA = "MIXED_MEDIA"
MEDIA_OUTSIDE_DATASET_BUCKET = "MEDIA_OUTSIDE_DATASET_BUCKET"
UNEXPECTED_MEDIA_TYPE = "UNEXPECTED_MEDIA_TYPE"  # warning
UNSUPPORTED_MEDIA_FORMAT = "UNSUPPORTED_MEDIA_FORMAT"
TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
MAY_EXCEED_TOKEN_LIMIT = "MAY_EXCEED_TOKEN_LIMIT"  # warning

# Request level, for distillation: shared with the run spec's checks.
UNKNOWN_TEACHER = "UNKNOWN_TEACHER"
TEACHER_NOT_SUPPORTED = "TEACHER_NOT_SUPPORTED"

ALL_CODES = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)

# Rules a user may acknowledge for one run (`bmc validate --allow CODE`, the run spec's
# `validation.allow`): documented limits that quotas can raise, estimates, and advice. Codes for
# input that cannot be read or that no job could train on are not among them.
ALLOWABLE = frozenset(
    (
        RESERVED_STRING,
        RESERVED_STRING_MENTION,
        TOO_MANY_TOKENS,
        MAY_EXCEED_TOKEN_LIMIT,
        TOO_FEW_RECORDS,
        TOO_MANY_RECORDS,
        FEW_RECORDS,
        FILE_TOO_LARGE,
        VALUE_TOO_LONG,
        VALUE_TOO_SHORT,
        TOO_MANY_MEDIA,
        MEDIA_OUTSIDE_DATASET_BUCKET,
        UNEXPECTED_MEDIA_TYPE,
        UNKNOWN_FIELD,
        SCHEMA_VERSION,
    )
)


def did_you_mean(code: str) -> str:
    """``"; did you mean X?"`` for a mistyped code, or ``""``."""
    import difflib

    matches = difflib.get_close_matches(code.upper(), sorted(ALL_CODES), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]}?" if matches else ""
