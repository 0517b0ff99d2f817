"""The customers' annotation format and our result document: typed records, JSON, JSON Schemas.

The records live in :mod:`~model_code.schema.records`; the JSON Schema files
(``annotation.schema.json``, ``result.schema.json``) beside it.  This package is the bottom of
the product's data flow: every stage speaks these records, and it imports nothing but
:mod:`model_code.io` (atomic writes).
"""

from model_code.schema.records import (
    OPENING_TYPES,
    RESULT_SCHEMA_VERSION,
    SCHEMA_DIR,
    Annotation,
    Opening,
    OpeningType,
    PlanScale,
    Point,
    ResultDocument,
    Room,
    SchemaError,
    TextLine,
    Wall,
    bounding_box_of,
    load_schema,
    schema_problems,
    validate_annotation,
    validate_result,
)
from model_code.schema.room_types import (
    DOCUMENT_ROOM_TYPES,
    ROOM_TYPES,
    TYPE_NAMES,
    UNKNOWN_TYPE,
    room_type_of_name,
)

__all__ = [
    "DOCUMENT_ROOM_TYPES",
    "OPENING_TYPES",
    "RESULT_SCHEMA_VERSION",
    "ROOM_TYPES",
    "SCHEMA_DIR",
    "TYPE_NAMES",
    "UNKNOWN_TYPE",
    "Annotation",
    "Opening",
    "OpeningType",
    "PlanScale",
    "Point",
    "ResultDocument",
    "Room",
    "SchemaError",
    "TextLine",
    "Wall",
    "bounding_box_of",
    "load_schema",
    "room_type_of_name",
    "schema_problems",
    "validate_annotation",
    "validate_result",
]
