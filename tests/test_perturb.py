"""The perturbed question copies: seeded, always different, plausible."""

from __future__ import annotations

import random

from qa.eval.perturb import perturb, typo

QUESTIONS = [("q1", "What is the treatment for patients with leukemia?"), ("q2", "How is anemia diagnosed?"),
             ("q3", "What are the symptoms of tumor lysis syndrome?"), ("q4", "Who is at risk?")]


def test_same_seed_same_text_different_seed_differs_somewhere():
    a = [perturb(t, q, seed=0) for q, t in QUESTIONS]
    assert a == [perturb(t, q, seed=0) for q, t in QUESTIONS]
    assert a != [perturb(t, q, seed=1) for q, t in QUESTIONS]


def test_every_question_changes():
    for seed in range(20):
        for q, t in QUESTIONS:
            assert perturb(t, q, seed) != t


def test_typo_keeps_the_first_letter_and_leaves_short_words():
    rng = random.Random(0)
    for _ in range(100):
        w = typo("midostaurin", rng)
        assert w[0] == "m"
        assert abs(len(w) - len("midostaurin")) <= 1
    assert typo("dose", rng) == "dose"


def test_the_kinds_of_change_all_occur():
    outs = [perturb("What is the treatment for patients with leukemia?", f"q{i}", 0) for i in range(200)]
    assert any("tx" in o for o in outs) and any("pts" in o for o in outs)
    assert any("leukaemia" in o.lower() for o in outs)
    assert any(o.islower() for o in outs) and any(not o.endswith("?") for o in outs)
