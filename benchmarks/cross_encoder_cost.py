"""Benchmark: what a cross-encoder reranker would cost a question on this CPU (issue 11's budget).

    .venv/bin/python benchmarks/cross_encoder_cost.py                  # layers 1,2,3,6; 3, 5 and 10 pairs
    .venv/bin/python benchmarks/cross_encoder_cost.py --layers 2 --pairs 5 --n 200

A cross-encoder reads the question and a candidate sentence together, so it runs once per
candidate at question time, unlike the sentence vectors computed at index time. This times the
bundled all-MiniLM-L6-v2 cut to its first L layers with a one-logit head, exported to ONNX and
quantised to int8 exactly as qa's question encoder is (`qa.embed.onnx`), on one thread, over
real (question, heading + sentence) pairs from eval/seeds and the bundled corpus. The head is
untrained: the cost does not depend on the weights' values. Prints the CPU, p50/p95 per setting
and the budget issue 11 allows (`ask` p95 +3 ms at medquad scale). Never a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, cpu, pct


def pairs_from_seeds(n_pairs: int, limit: int) -> list[list[tuple[str, str]]]:
    """For each seeds question, its gold evidence and the sentences around it (real lengths)."""
    from qa.ingest.sentences import split_spans

    texts = " ".join(p.read_text() for p in sorted((ROOT / "corpus").glob("*.md")))
    sents = [s for s in (texts[a:b].strip() for a, b in split_spans(texts)) if len(s) > 20]
    out = []
    for line in (ROOT / "eval" / "seeds" / "queries.jsonl").read_text().splitlines()[:limit]:
        q = json.loads(line)["text"]
        k = len(out) * 7 % max(1, len(sents) - n_pairs)
        out.append([(q, s) for s in sents[k:k + n_pairs]])
    return out


def export(layers: int, folder: Path) -> Path:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    from qa.embed.model import resolve_model_path

    base = AutoModel.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"), local_files_only=True)
    base.encoder.layer = base.encoder.layer[:layers]

    class Cross(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m, self.head = m, torch.nn.Linear(m.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return self.head(h.last_hidden_state[:, 0]).squeeze(-1)

    model = Cross(base.eval()).eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    fp32, int8 = folder / f"cross{layers}.fp32.onnx", folder / f"cross{layers}.onnx"
    b, s = torch.export.Dim("batch"), torch.export.Dim("seq")
    torch.onnx.export(model, (ids, ids, ids * 0), str(fp32), dynamo=True,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logit"],
                      dynamic_shapes={k: {0: b, 1: s} for k in ("input_ids", "attention_mask", "token_type_ids")})
    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    return int8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", default="1,2,3,6")
    ap.add_argument("--pairs", default="3,5,10")
    ap.add_argument("--n", type=int, default=100, help="questions timed per setting")
    args = ap.parse_args()
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from qa.embed.model import resolve_model_path

    tok = Tokenizer.from_file(str(Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.enable_padding()
    print(f"machine: {cpu()}; onnxruntime {ort.__version__}, one thread, int8 dynamic quantisation")
    print("budget (issue 11): ask p95 may rise by at most 3 ms at medquad scale")
    pair_counts = [int(x) for x in args.pairs.split(",")]
    questions = pairs_from_seeds(max(pair_counts), args.n)
    with tempfile.TemporaryDirectory() as tmp:
        for layers in [int(x) for x in args.layers.split(",")]:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            sess = ort.InferenceSession(str(export(layers, Path(tmp))), opts, providers=["CPUExecutionProvider"])
            for n in pair_counts:
                ms, toks = [], []
                for rnd in range(2):  # the first round warms up
                    for qs in questions:
                        enc = tok.encode_batch(qs[:n])
                        feed = {"input_ids": np.array([e.ids for e in enc], np.int64),
                                "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
                                "token_type_ids": np.array([e.type_ids for e in enc], np.int64)}
                        t = time.perf_counter()
                        sess.run(None, feed)
                        if rnd:
                            ms.append((time.perf_counter() - t) * 1000)
                            toks.append(feed["input_ids"].size)
                print(f"layers {layers}, {n:2d} pairs ({np.mean(toks) / n:.0f} tokens each, padded): "
                      f"p50 {pct(ms, 50):6.2f} ms, p95 {pct(ms, 95):6.2f} ms")


if __name__ == "__main__":
    main()
