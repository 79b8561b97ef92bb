"""`qa train`: fit the answer model (sentence scorer, abstainer, calibration) on gold questions.

    qa train [--shared ../shared/data] [--out qa/models/answer-model.json] [--alpha 0.10] [--seed 0]
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.cli.common import _progress, app, err, fail, out, require_extra

ROOT = Path(__file__).resolve().parents[2]


@app.command("train", short_help="Fit the answer model on gold questions.")
def train_command(
    shared: Annotated[Path, typer.Option(help="The evaluation suites folder (covid-qa, medquad, medquad-cancergov).")] = ROOT.parent / "shared" / "data",
    seeds: Annotated[Path, typer.Option(help="The bundled corpus's gold questions (dev split used).")] = ROOT / "eval" / "seeds",
    model_out: Annotated[Optional[Path], typer.Option("--out", help="Where the model goes (default: the file qa ask and the API read).")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report", help="Report folder (default eval/reports/train-<time>).")] = None,
    alpha: Annotated[float, typer.Option(min=0.01, max=0.5, help="Most wrong answers among answered, as a 95% upper bound on the calibration split.")] = 0.10,
    seed: Annotated[int, typer.Option(help="Seed of the perturbed question copies.")] = 0,
    perturbed: Annotated[bool, typer.Option(help="Also train on perturbed copies (shorthand, typos, British spelling).")] = True,
    limit: Annotated[Optional[int], typer.Option(min=5, help="Smoke run: first N questions of each source (the indexes are still of whole corpora).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Suite index cache (default eval/cache, shared with qa eval).")] = None,
    scorer: Annotated[str, typer.Option(help="The sentence scorer: trees (boosted trees) or linear (listwise).")] = "linear",
    only: Annotated[Optional[str], typer.Option(help="Comma-separated subset of sources: medquad, covid-qa, seeds, medquad-cancergov (smoke runs).")] = None,
    model: Annotated[str, typer.Option(envvar="QA_MODEL", help="Embedding model.")] = "all-MiniLM-L6-v2",
    corpus_calibration: Annotated[Optional[Path], typer.Option(help="Where the bundled corpus's calibration goes, fitted on out-of-fold logits of eval/seeds dev (default: corpus/qa-calibration.json when --out is the shipped model; none otherwise unless given).")] = None,
) -> None:
    """Fit the answerer on real gold questions and write the model file and a report.

    Indexes come from eval/cache (built on first use: ~20 minutes on 2 cores); collecting and
    fitting take a few minutes more. The reported splits (covid-qa dev, medquad-cancergov test,
    eval/seeds test) are never read.
    """
    require_extra("eval")
    from qa.query.answer_model import DEFAULT_PATH
    from qa.embed import EmbedderError, load_embedders
    from qa.eval import report as R
    from qa.train.run import ROLES, TrainSettings

    sources = tuple(x.strip() for x in only.split(",") if x.strip()) if only else tuple(ROLES)
    for name in sources:
        p = seeds if name == "seeds" else shared / name
        if name in ROLES and not p.exists():
            fail(f"{p} not found: qa train needs the suites in ../shared/data (see docs/data-card.md), or --shared")
    try:
        settings = TrainSettings(shared, seeds, seed=seed, alpha=alpha, perturbed=perturbed, limit=limit,
                                 sources=sources, cache_dir=cache_dir, scorer=scorer)
        embedder, questions = load_embedders(model)
    except (ValueError, EmbedderError) as e:
        fail(str(e))
    target = model_out or DEFAULT_PATH
    folder = report_dir or ROOT / "eval" / "reports" / f"train-{dt.datetime.now():%Y%m%d-%H%M%S}"
    answer_model, extra = _fit_with_progress(settings, embedder, questions)
    answer_model.save(target)
    folder.mkdir(parents=True, exist_ok=True)
    body = {"model": str(_shown(target)), "model_sha256": answer_model.sha256, "info": answer_model.info,
            "fit": extra["reports"], "git": R.git_state(), "machine": R.machine()}
    cal_target = corpus_calibration or (ROOT / "corpus" / "qa-calibration.json" if model_out is None else None)
    if cal_target is not None and "seeds" in sources:
        body["corpus_calibration"] = _corpus_calibration(answer_model, extra["items"]["hybrid"], settings, cal_target)
    (folder / "report.json").write_text(json.dumps(body, indent=1) + "\n")
    (folder / "report.md").write_text(markdown(body))
    out.print(f"model: {target} (sha256 {answer_model.sha256[:12]})\nreport: {folder}/report.md", highlight=False)


def _shown(path: Path) -> Path:
    """``path`` relative to the checkout when inside it (a report names no machine's folders)."""
    return path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path


def _fit_with_progress(settings, embedder, questions):
    """`qa.train.run.train` under a progress bar: (answer model, extra)."""
    from qa.eval.suites import SuiteError
    from qa.train.run import train

    with _progress() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage[:24], total=total)
            bar.update(tasks[stage], completed=done, total=total)

        def log(message: str) -> None:
            (bar.console if err.is_terminal else err).print(message, highlight=False)

        try:
            return train(settings, embedder, progress, log, questions)
        except SuiteError as e:
            fail(str(e))


def _corpus_calibration(answer_model, items, settings, target: Path) -> dict:
    """Fit the bundled corpus's calibration on out-of-fold seeds dev logits, write it; its report."""
    from qa.train.oof import corpus_calibration
    from qa.train.run import SCORERS

    err.print("bundled corpus: refitting the model 3 times, each without a third of eval/seeds dev...",
              highlight=False)
    cal, report = corpus_calibration(items, "seeds", settings.l2, answer_model.variants["hybrid"].calibration,
                                     answer_model.sha256, settings.scorer, compare=SCORERS)
    cal.save(target)
    err.print(f"bundled corpus calibration: {target} (threshold {cal.threshold}, out-of-fold dev accuracy "
              f"{report['dev']['accuracy']:.3f}); re-index the corpus to use it", highlight=False)
    return {"path": str(_shown(target)), **report}


def markdown(body: dict) -> str:
    info = body["info"]
    lines = [f"# qa train ({info['trained']})", "", f"Model `{body['model']}`, sha256 `{body['model_sha256']}`.",
             f"Settings: {json.dumps(info['settings'])}.", f"Seconds: {json.dumps(info['seconds'])}.", "",
             "## Data (items by source/split)", "", "| source/split | counts |", "|---|---|"]
    lines += [f"| {k} | {', '.join(f'{n} {kind}' for kind, n in v.items())} |" for k, v in info["data"].items()]
    for name, r in body["fit"].items():
        th = r["threshold"]
        lines += ["", f"## Variant `{name}`", "",
                  f"Fitted on {r['fit_questions']} questions ({r['ranked_questions']} ranked), calibrated on "
                  f"{r['calibrate_questions']}: threshold {th['value']:.4f}, calibration coverage {th['coverage']:.3f}, "
                  f"wrong among answered {th['risk']:.3f} (95% upper bound {th['risk_upper']:.3f}).", "",
                  "| scorer (calibration split) | top-1 | 95% CI | fit s | by source |", "|---|---:|---|---:|---|"]
        for k, v in {**r.get("candidates", {}), **r.get("ablations", {})}.items():
            by = ", ".join(f"{src} {t}" for src, t in v.get("by_source", {}).items())
            lines.append(f"| {k} | {v['top1']} | {v['ci95']} | {v.get('fit_s', '')} | {by} |")
        if "scorer_weights" in r:
            lines += ["", "| sentence feature | weight (standardised) |", "|---|---:|"]
            lines += [f"| {k} | {w:+.3f} |" for k, w in sorted(r["scorer_weights"].items(), key=lambda kv: -abs(kv[1]))]
        else:
            lines += ["", f"Sentence scorer: {r.get('scorer_trees')} boosted trees (`qa.train.trees.SETTINGS`)."]
        lines += ["", "| question feature | weight (standardised) |", "|---|---:|"]
        lines += [f"| {k} | {w:+.3f} |" for k, w in sorted(r["abstainer_weights"].items(), key=lambda kv: -abs(kv[1]))]
    if "corpus_calibration" in body:
        c = body["corpus_calibration"]
        dev = c["dev"]
        lines += ["", "## Bundled corpus calibration", "",
                  f"`{c['path']}`: {c['fitted_on']}. Rule: {c['rule']}.", "",
                  f"Threshold {c['threshold']}; on the out-of-fold logits: accuracy {dev['accuracy']:.3f}, "
                  f"answerable answered correctly {dev['answerable_accuracy']:.3f}, unanswerable abstained "
                  f"{dev['unanswerable_accuracy']:.3f}, coverage {dev['coverage']:.3f}; ECE of the model's own "
                  f"calibration {c['ece_dev_before']:.3f}, of this one {c['ece_dev_after']:.3f} "
                  f"({c['n_dev']} questions). Out-of-fold top-1 on the answerable ones, by scorer: "
                  + ", ".join(f"{k} {v}" for k, v in c["out_of_fold"]["top1_by_scorer"].items()) + "."]
    return "\n".join(lines) + "\n"
