"""Every rule, by code and by name: an explicit list, so adding a rule is one line here."""

from __future__ import annotations

from recoverctl.lint.rule import Rule
from recoverctl.lint.rules.rc101_unreachable_branch_case import UnreachableBranchCase
from recoverctl.lint.rules.rc102_branch_without_else import BranchWithoutElse
from recoverctl.lint.rules.rc103_condition_reads_skippable_step import ConditionReadsSkippableStep
from recoverctl.lint.rules.rc104_unused_param import UnusedParam
from recoverctl.lint.rules.rc105_secret_in_logged_template import SecretInLoggedTemplate
from recoverctl.lint.rules.rc106_template_outside_shell_quoting import (
    TemplateOutsideShellQuoting,
)
from recoverctl.lint.rules.rc107_read_only_looks_state_changing import ReadOnlyLooksStateChanging
from recoverctl.lint.rules.rc108_decision_undetermined_offline import DecisionUndeterminedOffline
from recoverctl.lint.rules.rc201_destructive_without_rollback import DestructiveWithoutRollback
from recoverctl.lint.rules.rc202_rollback_reads_unready_output import RollbackReadsUnreadyOutput
from recoverctl.lint.rules.rc203_retry_on_non_idempotent import RetryOnNonIdempotent
from recoverctl.lint.rules.rc204_shared_resource_without_lock import SharedResourceWithoutLock
from recoverctl.lint.rules.rc205_no_verification_after_destructive import (
    NoVerificationAfterDestructive,
)
from recoverctl.lint.rules.rc206_fanout_all_at_once import FanoutAllAtOnce
from recoverctl.lint.rules.rc207_fanout_without_budget import FanoutWithoutBudget
from recoverctl.lint.rules.rc301_step_without_timeout import StepWithoutTimeout
from recoverctl.lint.rules.rc302_large_retry_budget import LargeRetryBudget
from recoverctl.lint.rules.rc303_worst_case_exceeds_rto import WorstCaseExceedsRto
from recoverctl.lint.rules.rc304_no_rto import NoRto
from recoverctl.lint.rules.rc401_missing_description_or_owner import MissingDescriptionOrOwner
from recoverctl.lint.rules.rc402_no_rpo import NoRpo
from recoverctl.lint.rules.rc403_unnamed_step_in_long_runbook import UnnamedStepInLongRunbook
from recoverctl.lint.rules.rc404_no_scenarios import NoScenarios
from recoverctl.lint.rules.rc501_yaml11_boolean import Yaml11Boolean
from recoverctl.lint.rules.rc502_non_snake_case_id import NonSnakeCaseId
from recoverctl.lint.rules.rc503_too_complex import TooComplex

RULES: tuple[Rule, ...] = (
    UnreachableBranchCase(),
    BranchWithoutElse(),
    ConditionReadsSkippableStep(),
    UnusedParam(),
    SecretInLoggedTemplate(),
    TemplateOutsideShellQuoting(),
    ReadOnlyLooksStateChanging(),
    DecisionUndeterminedOffline(),
    DestructiveWithoutRollback(),
    RollbackReadsUnreadyOutput(),
    RetryOnNonIdempotent(),
    SharedResourceWithoutLock(),
    NoVerificationAfterDestructive(),
    FanoutAllAtOnce(),
    FanoutWithoutBudget(),
    StepWithoutTimeout(),
    LargeRetryBudget(),
    WorstCaseExceedsRto(),
    NoRto(),
    MissingDescriptionOrOwner(),
    NoRpo(),
    UnnamedStepInLongRunbook(),
    NoScenarios(),
    Yaml11Boolean(),
    NonSnakeCaseId(),
    TooComplex(),
)

INTERNAL_ERROR = ("RC000", "internal-error")


def find_rule(key: str) -> Rule | None:
    """A rule by code (`RC201`) or name (`destructive-without-rollback`)."""
    key = key.strip()
    return next((r for r in RULES if key.upper() == r.code or key.lower() == r.name), None)


VALIDATION_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "yaml",
        "the file is not YAML recoverctl accepts",
        "Malformed YAML, duplicate keys, anchors that expand too far, tags that would run "
        "code: the file cannot be read safely, so nothing else is checked.",
    ),
    (
        "schema",
        "the runbook does not match the runbook JSON Schema",
        "A key that is misspelt or misplaced, a value of the wrong type, a step with no "
        "action or two: the runbook cannot be run as written.",
    ),
    (
        "semantic",
        "the runbook is well-formed but refers to something that is not there",
        "Duplicate step ids, references to unknown steps, params or outputs, cycles in "
        "`call:`, expressions that do not parse: errors the schema cannot see.",
    ),
)
"""What `validate` (and so `lint`, on a file that does not validate) reports, by code:
(code, summary, why). They have no RC code; SARIF lists them as rules so code scanning
can show them and link to their docs."""

DOCS_URL = "https://recoverctl.dev/docs/"
"""Where docs/ is published; rule help links point into docs/rules.md there."""


def rule_anchor(code: str, name: str | None = None) -> str:
    """The anchor of a rule's section in docs/rules.md (GitHub's heading slugs)."""
    return f"{code.lower()}-{name}" if name else f"validation-{code}"
