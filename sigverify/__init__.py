"""Signature images: reading scans and crops, page segmentation, and the
batched signature comparison core (:mod:`sigverify.signatures`).

Imports only numpy, OpenCV and scikit-image (never petitions, gui, Qt or a
database).
"""
from sigverify.imageio import read_image
from sigverify.signatures import (
    FAMILIES,
    PrepParams,
    Prepared,
    SameHandScores,
    SignatureModel,
    SignatureScores,
    embed,
    extract_features,
    load_default_model,
    load_learned_model,
    load_samehand_model,
    preprocess,
    samehand_scores,
    verify,
)

__all__ = [
    "FAMILIES",
    "PrepParams",
    "Prepared",
    "SameHandScores",
    "SignatureModel",
    "SignatureScores",
    "embed",
    "extract_features",
    "load_default_model",
    "load_learned_model",
    "load_samehand_model",
    "preprocess",
    "read_image",
    "samehand_scores",
    "verify",
]
