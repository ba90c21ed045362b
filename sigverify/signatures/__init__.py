"""Signature comparison core (issue 5): preprocessing, batched features,
pair distances and the calibrated writer-independent model."""
from sigverify.signatures import fit  # noqa: F401  (model fitting, used by benchmarks)
from sigverify.signatures.features import FAMILIES, extract_features
from sigverify.signatures.model import SignatureModel, load_default_model
from sigverify.signatures.preprocess import PrepParams, Prepared, preprocess
from sigverify.signatures.verify import SignatureScores, describe, score_described, verify

__all__ = [
    "FAMILIES",
    "PrepParams",
    "Prepared",
    "SignatureModel",
    "SignatureScores",
    "describe",
    "extract_features",
    "load_default_model",
    "preprocess",
    "score_described",
    "verify",
]
