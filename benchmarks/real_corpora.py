"""The real signature corpora in ``../shared/data/`` (internal use only:
never committed, never used by tests), read into one labelled table, and
the writer-disjoint folds used to train and measure the learned embedding.

Each image has an *owner* (the person whose name is signed) and a *hand*
(the person who physically wrote it):

- SigComp2011 Dutch: ``WWW/WWW_NN.png`` (or ``NN_WWW.png``) genuine (hand =
  owner), ``WWW_forg/FFFFWWW_NN.png`` or ``WWW_forg/NN_FFFFWWW.png`` forgery
  by forger FFFF (hand = that forger; 38 forgers, each imitating 2-5
  writers). Until 2026-12-07 the second naming was not parsed and each
  such writer's forgers were lumped into one hand ``dutch:funknownWWW``.
- BHSig260 Hindi: ``WWW/g_NN.png`` genuine, ``WWW/f_NN.png`` skilled
  forgery, forger not given (hand = "the forger(s) of WWW", a class of its
  own — a forger who imitated several writers is then split in several
  classes, a small label noise).
- NFI SigComp2009: ``OOO/g_NN.png`` genuine, ``OOO/f_FFF_NN.png`` forgery
  by person FFF, who is owner FFF of the same set (one person id space).

Labels are strings ``corpus:kind:id`` so that ids never collide across
corpora.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
CORPORA = ("sigcomp2011-dev", "bhsig260-hindi-dev", "nfi-sigcomp2009-dev")
SHORT = {"sigcomp2011-dev": "dutch", "bhsig260-hindi-dev": "hindi", "nfi-sigcomp2009-dev": "nfi"}


@dataclass
class Corpus:
    """Files and labels of the real corpora (arrays of length N)."""

    files: list
    corpus: np.ndarray  # short corpus name
    owner: np.ndarray  # 'dutch:012'
    hand: np.ndarray  # 'dutch:012' for genuine, 'dutch:f0119' for a forger
    genuine: np.ndarray  # bool


def list_corpora(data: Path = DEFAULT_DATA, corpora=CORPORA) -> Corpus | None:
    """Every image of the corpora present under `data` (None when none)."""
    files, corpus, owner, hand, genuine = [], [], [], [], []

    def add(f, c, o, h, g):
        files.append(f), corpus.append(c), owner.append(o), hand.append(h), genuine.append(g)

    for name in corpora:
        root = Path(data) / name
        if not root.is_dir():
            continue
        c = SHORT[name]
        for f in sorted(root.glob("*/*.png")):
            d, s = f.parent.name, f.stem
            if c == "dutch":
                m = re.fullmatch(r"(\d{3})(_forg)?", d)
                if not m:
                    continue
                o = f"dutch:{m.group(1)}"
                if m.group(2):
                    # two namings in the collection: FFFFWWW_NN (writers 001-012) and NN_FFFFWWW (013-)
                    fm = re.fullmatch(r"(\d{4})" + m.group(1) + r"_\d+", s) or re.fullmatch(
                        r"\d+_(\d{4})" + m.group(1), s)
                    add(f, c, o, f"dutch:f{fm.group(1) if fm else 'unknown' + m.group(1)}", False)
                else:
                    add(f, c, o, o, True)
            elif c == "hindi":
                o = f"hindi:{d}"
                add(f, c, o, o if s.startswith("g_") else f"hindi:forgers-of-{d}", s.startswith("g_"))
            else:
                o = f"nfi:{d}"
                m = re.fullmatch(r"f_(\d{3})_\d+", s)
                add(f, c, o, f"nfi:{m.group(1)}" if m else o, m is None)
    if not files:
        return None
    return Corpus(files, np.array(corpus), np.array(owner), np.array(hand), np.array(genuine))


def writer_folds(c: Corpus, folds: int, *, seed: int = 2026) -> np.ndarray:
    """Fold number (0 .. folds-1) of each image, writer-disjoint.

    Owners are shuffled (seeded) within each corpus and dealt round-robin
    to the folds, so each fold holds about 1/folds of every corpus. An
    image belongs to the fold of its owner. (Training on fold i's
    complement must also leave out every *hand* seen in fold i: see
    :func:`train_mask`.)
    """
    rng = np.random.default_rng(seed)
    fold_of = {}
    for name in np.unique(c.corpus):
        owners = np.unique(c.owner[c.corpus == name])
        for i, o in enumerate(rng.permutation(owners)):
            fold_of[o] = i % folds
    return np.array([fold_of[o] for o in c.owner])


def train_mask(c: Corpus, fold: np.ndarray, test_fold: int) -> np.ndarray:
    """Images a model tested on `test_fold` may be trained on: owners of
    other folds, and no image written by a hand that wrote anything in the
    test fold (a forger of a test writer, or — NFI — the person behind a
    test owner who also forged others)."""
    test = fold == test_fold
    test_hands = set(c.hand[test]) | set(c.owner[test])
    return ~test & ~np.isin(c.hand, list(test_hands)) & ~np.isin(c.owner, list(test_hands))
