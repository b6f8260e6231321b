"""CRM adapters behind one protocol, the score-field guard and the push journal.

The conformance suite lives in `connectors.testing` (imported on its own; it is not loaded here).
"""

from connectors.errors import (
    CRMError,
    FatalCRMError,
    JournalError,
    PushInterruptedError,
    RecordWriteError,
    RetriableCRMError,
    ScoreFieldViolation,
)
from connectors.guard import CheckedChanges, changes_frame, checked_changes, score_field_names
from connectors.journal import PushHeader, PushJournal
from connectors.local import LOCAL_CAPABILITIES, LocalCRM
from connectors.protocol import (
    BULK_BATCH_RECORDS,
    Capabilities,
    CRMConnector,
    FieldPlan,
    RecordFailure,
    WriteReport,
)

__all__ = [
    "BULK_BATCH_RECORDS",
    "CRMConnector",
    "CRMError",
    "Capabilities",
    "CheckedChanges",
    "FatalCRMError",
    "FieldPlan",
    "JournalError",
    "LOCAL_CAPABILITIES",
    "LocalCRM",
    "PushHeader",
    "PushInterruptedError",
    "PushJournal",
    "RecordFailure",
    "RecordWriteError",
    "RetriableCRMError",
    "ScoreFieldViolation",
    "WriteReport",
    "changes_frame",
    "checked_changes",
    "score_field_names",
]
