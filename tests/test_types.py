"""The answer contract's `to_dict`: the same plain dicts `dataclasses.asdict` gives, built faster."""

from __future__ import annotations

import json
from dataclasses import asdict

from qa.types import Answer, Citation, Passage, SourceRef


def test_to_dict_is_what_asdict_gives():
    ref = SourceRef(7, "Smith J. Blood 2020.", None, [120, 121])
    cites = (Citation(1, "d1", "T", "T > Dosing", 3, "2024-01-01", "https://x", "Give 12 mg IT.", 100, 114, 2.5, (ref,)),
             Citation(2, "d2", "U", "U", None, None, None, "Give 15 mg IT.", 0, 14, 1.0))
    passage = Passage("d1", "d1#0", "T", "T > Dosing", "Give 12 mg IT. More.", 100, 120, 0.9, 1, None)
    a = Answer("dose?", "Give 12 mg IT. [1]", False, 0.8, 1.2, cites, (passage,), "idx", "hybrid-weighted",
               timings_ms={"total": 5.0}, corrections=({"from": "dse", "to": "dose"},), answer_id="a" * 32,
               conflicts=({"citations": [1, 2], "what": "dose", "values": ["12 mg", "15 mg"]},))
    old = asdict(a)
    old["citations"] = [asdict(c) | {"source_refs": [asdict(r) for r in c.source_refs]} for c in cites]
    old["passages"] = [asdict(p) for p in a.passages]
    new = a.to_dict()
    assert json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True)
    new["citations"][0]["source_refs"][0]["at"].append(0)  # a copy: the answer itself is unchanged
    new["conflicts"][0]["values"].append("x")
    assert ref.at == [120, 121] and a.conflicts[0]["values"] == ["12 mg", "15 mg"]
