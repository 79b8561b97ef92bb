"""Fit a cross-encoder answer-sentence scorer from the bundled MiniLM's first L layers on covid-qa
train candidates, and score covid-qa dev (held out: read once, nothing tuned on it) against the
shipped linear scorer on exactly the same candidates. Issue 11's question: what would a learned
cross-encoder gain, next to what it costs (benchmarks/cross_encoder_cost.py)?

    python eval/cross_encoder/train_cross.py --pack eval/cross_encoder/data/pack --layers 2,3,6 --out results.json
    python eval/cross_encoder/train_cross.py --pack ... --smoke          # a CPU check of the code path

Runs on a GPU when there is one (it was run on an H200 through the device tool; ~a minute a model).
Training: listwise softmax over each question's quotable candidates (one gold positive drawn per
epoch, up to 15 negatives with the highest linear logits), AdamW, 4 epochs, fixed seed; 10% of
train questions (by a hash of their position) are held back to choose the weight of the combined
score linear + w * cross. Reported per model: top-1 hit (the first choice overlaps the gold
evidence; the eval harness's answer_hit@1, over all dev questions) and contains@1 (the first choice
holds the expert's span), for the linear scorer, the cross-encoder and the combination.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

MAX_LEN = 176


def groups(d, split):
    cq, y, qu = d[f"{split}_c_q"], d[f"{split}_y"], d[f"{split}_quotable"]
    out = [[] for _ in range(int(d[f"{split}_q_off"].shape[0]) - 1)]
    for i, q in enumerate(cq):
        if qu[i]:
            out[q].append(i)
    return out


def pair(d, split, c):
    qo, co = d[f"{split}_q_off"], d[f"{split}_c_off"]
    q = int(d[f"{split}_c_q"][c])
    qt = d[f"{split}_q_tok"][qo[q]:qo[q + 1]]
    ct = d[f"{split}_c_tok"][co[c]:co[c + 1]][:MAX_LEN - len(qt)]
    return np.concatenate([qt, ct]), len(qt)


def batch(d, split, cands, device):
    seqs = [pair(d, split, c) for c in cands]
    n = max(len(s) for s, _ in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for i, (s, ql) in enumerate(seqs):
        ids[i, :len(s)] = torch.from_numpy(s.astype(np.int64))
        types[i, ql:len(s)] = 1
        mask[i, :len(s)] = 1
    return ids.to(device), types.to(device), mask.to(device)


class Cross(torch.nn.Module):
    def __init__(self, pack: Path, layers: int):
        super().__init__()
        from safetensors.torch import load_file
        from transformers import BertConfig, BertModel

        cfg = BertConfig(**{k: v for k, v in json.loads((pack / "config.json").read_text()).items()
                            if k not in ("architectures", "transformers_version")})
        cfg.num_hidden_layers = layers
        self.bert = BertModel(cfg, add_pooling_layer=False)
        state = {k.removeprefix("bert."): v.float() for k, v in load_file(str(pack / "weights.safetensors")).items()}
        state = {k: v for k, v in state.items() if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
        missing, unexpected = self.bert.load_state_dict(state, strict=False)
        missing = [m for m in missing if "position_ids" not in m]
        assert not missing, missing
        self.head = torch.nn.Linear(cfg.hidden_size, 1)

    def forward(self, ids, types, mask):
        h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state[:, 0]
        return self.head(h).squeeze(-1)


def score(model, d, split, cands, device, bs=512):
    out = []
    model.eval()
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        for i in range(0, len(cands), bs):
            out.append(model(*batch(d, split, cands[i:i + bs], device)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def top1(d, split, gs, s):
    """(hit@1, contains@1) over every question of the split (no quotable candidate: a miss)."""
    y, co = d[f"{split}_y"], d[f"{split}_contains"]
    hit = con = 0
    for g in gs:
        if g:
            b = g[int(np.argmax(s[g]))]
            hit += int(y[b])
            con += int(co[b])
    return hit / len(gs), con / len(gs)


def fit(d, layers, device, epochs, seed, limit=None, log=print):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gs = groups(d, "train")
    y, z = d["train_y"], d["train_logit"]
    idx = [q for q in range(len(gs)) if any(y[c] for c in gs[q])][:limit]
    val = [q for q in idx if (q * 2654435761) % 100 < 10]
    tr = [q for q in idx if q not in set(val)]
    model = Cross(PACK, layers).to(device)
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": 5e-5},
                             {"params": model.head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    steps = epochs * math.ceil(len(tr) / 16)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps))
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        order = rng.permutation(tr)
        for k in range(0, len(order), 16):
            flat, spans = [], []
            for q in order[k:k + 16]:
                pos = [c for c in gs[q] if y[c]]
                neg = sorted((c for c in gs[q] if not y[c]), key=lambda c: -z[c])[:15]
                grp = [int(rng.choice(pos))] + neg
                spans.append((len(flat), len(grp)))
                flat += grp
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                s = model(*batch(d, "train", flat, device)).float()
            loss = sum(-torch.log_softmax(s[a:a + n], 0)[0] for a, n in spans) / len(spans)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        log(f"layers {layers} epoch {ep + 1}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
    vc = [c for q in val for c in gs[q]]
    vs = np.full(len(y), -1e9, dtype=np.float32)
    vs[vc] = score(model, d, "train", vc, device)
    vgs = [gs[q] for q in val]
    best_w = max((0.25, 0.5, 1.0, 2.0, 4.0, 1e3), key=lambda w: top1(d, "train", vgs, z + w * vs)[0])
    return model, best_w, {"fit_questions": len(tr), "validation_questions": len(val), "fit_s": round(time.time() - t0, 1),
                           "validation_top1_cross": top1(d, "train", vgs, vs)[0],
                           "validation_top1_linear": top1(d, "train", vgs, z)[0]}


def main() -> None:
    global PACK
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, required=True)
    ap.add_argument("--layers", default="2,3,6")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--smoke", action="store_true", help="1 layer, 24 questions, 1 epoch: checks the code path")
    args = ap.parse_args()
    PACK = args.pack
    d = dict(np.load(args.pack / "pairs.npz"))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device {device} ({torch.cuda.get_device_name(0) if device.type == 'cuda' else 'cpu'}), torch {torch.__version__}", flush=True)
    dgs = groups(d, "dev")
    z = d["dev_logit"]
    results = {"dev_questions": len(dgs), "linear": dict(zip(("top1_hit", "contains_at_1"), top1(d, "dev", dgs, z))),
               "models": {}}
    print("linear (shipped) on dev:", results["linear"], flush=True)
    for layers in ([1] if args.smoke else [int(x) for x in args.layers.split(",")]):
        model, w, info = fit(d, layers, device, 1 if args.smoke else args.epochs, args.seed,
                             limit=24 if args.smoke else None, log=lambda m: print(m, flush=True))
        dc = [c for g in dgs for c in g]
        s = np.full(len(z), -1e9, dtype=np.float32)
        s[dc] = score(model, d, "dev", dc, device)
        res = {"cross": dict(zip(("top1_hit", "contains_at_1"), top1(d, "dev", dgs, s))),
               "combined": dict(zip(("top1_hit", "contains_at_1"), top1(d, "dev", dgs, z + w * s))),
               "combined_weight": w, **info}
        results["models"][f"layers-{layers}"] = res
        print(f"layers {layers}:", json.dumps(res), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
