"""Tool-call metrics: pure functions over canonical calls and specs, each returning an explained result.

These are the evaluator's scores and the RL reward's definitions. See ``docs/evaluation.md`` for each rule's
source.
"""

from toolkit.metrics.arguments import ArgumentScores, argument_scores
from toolkit.metrics.ast_match import CallMatch, GoldCall, OneOf, as_gold, match_call, standardize_string
from toolkit.metrics.multi import CallsMatch, match_calls, specs_by_name
from toolkit.metrics.relevance import AbstentionScores, abstention_scores, no_call_correct, relevance_correct
from toolkit.metrics.trials import flip_rate, mean_pass_at_k, mean_pass_hat_k, pass_at_k, pass_hat_k
from toolkit.metrics.validity import SchemaValidity, call_schema_problems, schema_validity

__all__ = [
    "AbstentionScores",
    "ArgumentScores",
    "CallMatch",
    "CallsMatch",
    "GoldCall",
    "OneOf",
    "SchemaValidity",
    "abstention_scores",
    "argument_scores",
    "as_gold",
    "call_schema_problems",
    "flip_rate",
    "match_call",
    "match_calls",
    "mean_pass_at_k",
    "mean_pass_hat_k",
    "no_call_correct",
    "pass_at_k",
    "pass_hat_k",
    "relevance_correct",
    "schema_validity",
    "specs_by_name",
    "standardize_string",
]
