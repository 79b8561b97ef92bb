"""Stage 3, query: a question -> retrieval -> fused hits -> an extractive, cited `Answer`.

    question.py      prepare a question (fold, cut, expand) and name the retrieval modes
    normalize.py     British spelling and clinical shorthand, for questions and corpus alike
    fuse.py          reciprocal-rank and weighted fusion of the BM25 and dense legs
    features.py      the answer model's sentence and question features
    answer_model.py  the learned sentence scorer and abstainer (qa/models/answer-model.json)
    calibration.py   a site's own abstention threshold (`qa eval --calibrate`)
    answer.py        pick, order and cite the sentences; abstain when the model says so
    engine.py        `Engine`: what the CLI, the API and the eval harness share
"""
