"""Tokenise the exported candidates and pack what the GPU run needs into one folder it can carry:
token ids (as the bundled MiniLM's tokenizer cuts them), labels, the linear scorer's logits, and
the bundled all-MiniLM-L6-v2 weights in float16 with its word embeddings cut to the tokens the data
uses (the carried working tree is limited to 64 MiB; the full float32 model alone is 91 MB).

    .venv/bin/python eval/cross_encoder/prepare.py          # after export.py; writes eval/cross_encoder/data/pack
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAX_Q, MAX_C = 48, 128


def main() -> None:
    import torch
    from safetensors.torch import load_file, save_file
    from tokenizers import Tokenizer

    from qa.embed.model import resolve_model_path

    model_dir = Path(resolve_model_path("all-MiniLM-L6-v2"))
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    out = HERE / "data" / "pack"
    out.mkdir(parents=True, exist_ok=True)
    used = {0, cls, sep, tok.token_to_id("[UNK]")}
    arrays = {}
    for split in ("train", "dev"):
        rows = [json.loads(line) for line in gzip.open(HERE / "data" / f"covid-qa-{split}.jsonl.gz", "rt")]
        q_tok, q_off, c_tok, c_off, c_q, y, contains, logit, quotable = [], [0], [], [0], [], [], [], [], []
        for qi, r in enumerate(rows):
            ids = [cls] + tok.encode(r["question"], add_special_tokens=False).ids[:MAX_Q - 2] + [sep]
            q_tok += ids
            q_off.append(len(q_tok))
            for c in r["cands"]:
                cid = tok.encode(f"{c['section']}: {c['text']}", add_special_tokens=False).ids[:MAX_C - 1] + [sep]
                c_tok += cid
                c_off.append(len(c_tok))
                c_q.append(qi)
                y.append(c["y"])
                contains.append(c["contains"])
                logit.append(c["logit"])
                quotable.append(c["quotable"])
        used |= set(q_tok) | set(c_tok)
        for name, v, dt in (("q_tok", q_tok, np.int32), ("q_off", q_off, np.int64), ("c_tok", c_tok, np.int32),
                            ("c_off", c_off, np.int64), ("c_q", c_q, np.int32), ("y", y, np.int8),
                            ("contains", contains, np.int8), ("logit", logit, np.float32), ("quotable", quotable, np.int8)):
            arrays[f"{split}_{name}"] = np.asarray(v, dtype=dt)
        print(f"{split}: {len(rows)} questions, {len(y)} candidates")
    vocab = np.array(sorted(used), dtype=np.int64)
    remap = np.zeros(max(vocab) + 1, dtype=np.int32)
    remap[vocab] = np.arange(len(vocab))
    for split in ("train", "dev"):
        for name in ("q_tok", "c_tok"):
            arrays[f"{split}_{name}"] = remap[arrays[f"{split}_{name}"]]
    np.savez_compressed(out / "pairs.npz", **arrays)
    weights = load_file(str(model_dir / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    weights[key] = weights[key][torch.from_numpy(vocab)]
    save_file({k: v.to(torch.float16).contiguous() for k, v in weights.items()}, str(out / "weights.safetensors"))
    config = json.loads((model_dir / "config.json").read_text())
    config["vocab_size"] = len(vocab)
    (out / "config.json").write_text(json.dumps(config))
    print(f"vocabulary cut to {len(vocab)} tokens; pack in {out}")


if __name__ == "__main__":
    main()
