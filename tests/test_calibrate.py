"""The calibration tool (evals/calibrate.py) records each question's own candidate sentences."""
from __future__ import annotations

import numpy as np
import pytest

from rag import extractive as ex


@pytest.mark.slow
def test_collected_candidates_belong_to_their_question():
    """Under the engine's own weights, the best candidate recorded for a question is the sentence its answer
    quotes. (It paired candidates with questions by call order, which broke once some questions were
    answered without the extractive path, such as counts, and others used it twice: every later question
    was fitted on another question's sentences.)"""
    from evals import calibrate

    points = calibrate.collect("seed_facts", "all")
    w = np.asarray([ex.RANK_WEIGHTS[f] for f in ex.RANK_FEATURES])
    checked = 0
    for point in points:
        i = calibrate.best_index(point, w, ex.RANK_BIAS)
        if i is None:
            continue
        assert point["texts"][i] in point["answer"], point["id"]
        checked += 1
    assert checked >= len(points) // 2
