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
    SignatureModel,
    SignatureScores,
    extract_features,
    load_default_model,
    preprocess,
    verify,
)

__all__ = [
    "FAMILIES",
    "PrepParams",
    "Prepared",
    "SignatureModel",
    "SignatureScores",
    "extract_features",
    "load_default_model",
    "preprocess",
    "read_image",
    "verify",
]
