"""Signature comparison core (issue 5): preprocessing, batched features,
pair distances and the calibrated writer-independent model."""
from sigverify.signatures import fit  # noqa: F401  (model fitting, used by benchmarks)
from sigverify.signatures.features import FAMILIES, extract_features
from sigverify.signatures.embedding import embed
from sigverify.signatures.model import SignatureModel, load_default_model, load_learned_model
from sigverify.signatures.preprocess import PrepParams, Prepared, preprocess
from sigverify.signatures.samehand import SameHandScores, load_samehand_model, samehand_scores
from sigverify.signatures.verify import SignatureScores, describe, score_described, verify

__all__ = [
    "FAMILIES",
    "PrepParams",
    "Prepared",
    "SignatureModel",
    "SignatureScores",
    "SameHandScores",
    "describe",
    "embed",
    "extract_features",
    "load_default_model",
    "load_learned_model",
    "load_samehand_model",
    "samehand_scores",
    "preprocess",
    "score_described",
    "verify",
]
