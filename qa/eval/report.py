"""Writing a run's report folder: report.json, report.md, per_question.jsonl and PNG charts."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# (metric, label) in table order; a metric absent from every mode is left out of the table
TABLE = [
    ("ndcg@10", "nDCG@10"), ("recall@1", "R@1"), ("recall@5", "R@5"), ("recall@10", "R@10"),
    ("recall@100", "R@100"), ("mrr@10", "MRR@10"), ("evidence_hit@1", "ev@1"), ("evidence_hit@5", "ev@5"),
    ("evidence_hit@10", "ev@10"), ("answer_hit@1", "ans@1"), ("answer_hit", "ans@any"),
    ("citation_precision", "cite prec"), ("answer_contains@1", "contains@1"), ("answer_contains", "contains"),
    ("em", "EM"), ("f1", "F1"),
]
ABSTAIN = [
    ("abstain_accuracy", "accuracy"), ("answerable_accuracy", "answerable ok"),
    ("unanswerable_accuracy", "unanswerable ok"), ("coverage", "coverage"), ("risk", "risk"),
    ("auroc", "AUROC (answerable)"), ("auroc_correct", "AUROC (correct)"), ("ece", "ECE"),
]


def git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(git("status", "--porcelain")) if commit else None}


def machine() -> dict:
    import os

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown(report: dict) -> str:
    modes = report["modes"]
    names = list(modes)
    lines = [f"# qa eval: {report['suite']} / {report['split']}", ""]
    lines.append(f"{report['n_questions']} questions; default mode `{report['default_mode']}`; model "
                 f"`{report['model']}`; index `{report['index_id']}`; git `{(report['git']['commit'] or '')[:10]}`"
                 f"{' (dirty)' if report['git']['dirty'] else ''}; {report['created']}.")
    if report.get("limit"):
        lines.append(f"**Trial run**: limited to {report['limit']} questions and {report['corpus_docs']} documents.")
    for w in report.get("suite_warnings") or []:
        lines.append(f"Suite warning: {w}")
    lines += ["", f"Command: `{report['command']}`", ""]
    cols = [(m, l) for m, l in TABLE if any(m in modes[x] for x in names)]
    if cols:
        lines += ["## Retrieval and answers", "", "| mode | " + " | ".join(l for _, l in cols) + " |",
                  "|---|" + "---:|" * len(cols)]
        for x in names:
            lines.append(f"| {x} | " + " | ".join(_fmt(modes[x].get(m)) for m, _ in cols) + " |")
        ci = modes.get(report["default_mode"], {}).get("ci95") or {}
        shown = [f"{l} {ci[m][0]:.3f}-{ci[m][1]:.3f}" for m, l in cols if ci.get(m)]
        if shown:
            lines += ["", f"95% bootstrap intervals ({report['default_mode']}): " + ", ".join(shown) + "."]
        ns = {m: modes[names[0]]["n"].get(m) for m, _ in cols}
        lines += ["", "Questions per metric: " + ", ".join(f"{l} {ns[m]}" for m, l in cols if ns.get(m)) + "."]
    acols = [(m, l) for m, l in ABSTAIN if any(modes[x].get(m) is not None for x in names)]
    if acols:
        lines += ["", "## Abstention", "", "Each mode at its variant's threshold (bm25: the lexical model's); risk = wrong "
                  "among answered, with its 95% Clopper-Pearson interval.", "",
                  "| mode | threshold | " + " | ".join(l for _, l in acols) + " | risk 95% CI |",
                  "|---|---:|" + "---:|" * len(acols) + "---|"]
        for x in names:
            ab = modes[x].get("abstention", {})
            ci = ab.get("risk_ci95")
            lines.append(f"| {x} | {_fmt(ab.get('threshold'))} | " + " | ".join(_fmt(modes[x].get(m)) for m, _ in acols)
                         + f" | {f'{ci[0]:.3f}-{ci[1]:.3f}' if ci else '–'} |")
    cal = report.get("calibration")
    if cal:
        lines += ["", "## Calibration (`--calibrate`)", "", f"Rule: {cal['rule']}.", "",
                  f"Fitted on {cal['fitted_on']} ({cal['n_dev']} questions): threshold {cal['threshold']} "
                  f"(was {cal['previous']['threshold']}), confidence = 1/(1+exp(-({cal['a']}·raw + {cal['b']}))). "
                  f"Written to `{cal.get('written_to', '')}`.", "",
                  "| on dev | accuracy | answerable ok | unanswerable ok | coverage | risk |", "|---|---:|---:|---:|---:|---:|"]
        for label, oc in (("previous threshold", cal["dev_previous"]), ("fitted threshold", cal["dev"])):
            lines.append(f"| {label} | {_fmt(oc['accuracy'])} | {_fmt(oc['answerable_accuracy'])} | "
                         f"{_fmt(oc['unanswerable_accuracy'])} | {_fmt(oc['coverage'])} | {_fmt(oc['risk'])} |")
        lines += ["", f"ECE on dev: {_fmt(cal['ece_dev_before'])} before, {_fmt(cal['ece_dev_after'])} after."]
        if not cal["dev"].get("risk_bound_met", True):
            lines += ["", f"**The risk bound ({cal['dev']['max_risk']:.0%}) is unreachable on dev except by abstaining on "
                          f"every question**; loosened to {cal['dev']['risk_bound_used']:.0%} (dev risk {cal['dev']['risk']:.2f})."]
    lines += ["", "## Latency (ms, p50 / p95)", "", "| mode | " + " | ".join(
        s for s in ("embed", "bm25", "dense", "fuse", "answer", "total")) + " |", "|---|" + "---:|" * 6]
    for x in names:
        lat = modes[x]["latency_ms"]
        lines.append(f"| {x} | " + " | ".join(
            f"{lat[s]['p50']:.1f} / {lat[s]['p95']:.1f}" if lat.get(s) else "–"
            for s in ("embed", "bm25", "dense", "fuse", "answer", "total")) + " |")
    t = report.get("seconds", {})
    lines += ["", f"Index: {'reused from cache' if report.get('index_reused') else 'built'} "
                  f"({t.get('index', 0):.1f} s); answering {t.get('answer', 0):.1f} s; total {t.get('total', 0):.1f} s.", ""]
    for chart in report.get("charts", []):
        lines.append(f"![{chart}]({chart})")
    lines.append("")
    return "\n".join(lines)


def charts(report: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    modes = report["modes"]
    ks = [1, 5, 10, 100]
    if any(f"recall@{k}" in m for m in modes.values() for k in ks):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, m in modes.items():
            pts = [(k, m[f"recall@{k}"]) for k in ks if f"recall@{k}" in m]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("k (documents)")
        ax.set_ylabel("Recall@k")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(f"{report['suite']} / {report['split']}: Recall@k")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "recall_at_k.png", dpi=110)
        plt.close(fig)
        made.append("recall_at_k.png")
    curves = {n: m["abstention"]["risk_coverage"] for n, m in modes.items() if m.get("abstention")}
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, rc in curves.items():
            if rc["coverage"]:
                ax.plot(rc["coverage"], rc["risk"], label=name, drawstyle="steps-post")
        cal_mode = modes.get(report["default_mode"], {}).get("abstention")
        if cal_mode:
            ax.axvline(cal_mode["coverage"] or 0, color="grey", ls="--", lw=1,
                       label=f"{report['default_mode']} at threshold {cal_mode['threshold']:.3g}")
        ax.set_xlabel("coverage (share answered, most confident first)")
        ax.set_ylabel("risk (share of answers wrong)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_title(f"{report['suite']} / {report['split']}: risk-coverage")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "risk_coverage.png", dpi=110)
        plt.close(fig)
        made.append("risk_coverage.png")
    return made


def write(report: dict, folder: Path, per_question: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    report["charts"] = charts(report, folder)
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    (folder / "report.md").write_text(markdown(report))
    with (folder / "per_question.jsonl").open("w", encoding="utf-8") as f:
        for row in per_question:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
