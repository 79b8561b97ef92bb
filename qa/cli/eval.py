"""`qa eval`: run gold question suites through qa, or compare two runs (see qa/eval/).

    qa eval SUITE [--split S] [--modes bm25,dense,hybrid,hybrid-weighted] [--calibrate] [--out DIR] [--limit N]
    qa eval compare A.json B.json [--json]

`qa eval` is a command group whose default command is `run`: `qa eval SUITE ...` is
`qa eval run SUITE ...`, and `compare` is a command of its own with its own --help.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from typer.core import TyperGroup

from qa.cli.common import _progress, app, err, fail, out, require_extra


class _RunByDefault(TyperGroup):
    """A group whose first argument, when it names no sub-command, is the suite of `run`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=_RunByDefault, no_args_is_help=True, short_help="Evaluate on gold suites, or compare two runs.",
                       help="Evaluate qa on a gold suite (`qa eval SUITE`), or compare two runs (`qa eval compare A B`).")
app.add_typer(eval_app, name="eval")

HEADLINE = ["ndcg@10", "recall@1", "recall@10", "recall@100", "mrr@10", "evidence_hit@5", "answer_hit@1",
            "citation_precision", "em", "f1", "abstain_accuracy", "auroc"]


def _table(report: dict) -> Table:
    """Metrics down, modes across: fits a terminal whatever the number of metrics."""
    modes = report["modes"]
    rows = [m for m in HEADLINE if any(modes[x].get(m) is not None for x in modes)]
    t = Table(title=f"{report['suite']} / {report['split']} ({report['n_questions']} questions)")
    t.add_column("metric", no_wrap=True, min_width=len("evidence_hit@5"))
    for name in modes:
        t.add_column(name + (" *" if name == report["default_mode"] else ""), justify="right")
    for r in rows:
        t.add_row(r, *[f"{modes[x][r]:.3f}" if modes[x].get(r) is not None else "–" for x in modes])
    t.add_row("total ms p50", *[f"{modes[x]['latency_ms']['total'].get('p50', 0):.1f}" for x in modes])
    return t


def _fig(x: float, sign: str = "") -> str:
    """A metric as a short figure: 3 decimals, or 4 significant digits for counts and latencies."""
    return f"{x:{sign}.3f}" if abs(x) < 10 else f"{x:{sign}.4g}"


@eval_app.command("compare", short_help="Compare two runs, metric by metric.")
def compare_command(
    a_path: Annotated[Path, typer.Argument(metavar="A", help="The first report.json (or its folder).")],
    b_path: Annotated[Path, typer.Argument(metavar="B", help="The second report.json (or its folder).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Compare two `qa eval` runs metric by metric, with the noise of each difference."""
    import json

    from qa.eval.compare import CompareError, compare, load, warnings_for

    paths = [a_path, b_path]
    try:
        a, b = load(paths[0]), load(paths[1])
    except CompareError as e:
        fail(str(e))
    rows = compare(a, b)
    if as_json:
        print(json.dumps({"a": str(paths[0]), "b": str(paths[1]), "warnings": warnings_for(a, b), "rows": rows}, indent=2))
        return
    for w in warnings_for(a, b):
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    # fits 80 columns: no borders between cells, no cell wrapped, figures to 3 decimals
    t = Table(title=f"A = {paths[0]}\nB = {paths[1]}", box=box.SIMPLE_HEAD, pad_edge=False)
    for c, j in (("mode", "left"), ("metric", "left"), ("A", "right"), ("B", "right"), ("Δ (B−A)", "right"),
                 ("noise ±", "right"), ("", "left")):
        t.add_column(c, justify=j, no_wrap=True)
    for r in rows:
        t.add_row(r["mode"], r["metric"], _fig(r["a"]), _fig(r["b"]), _fig(r["delta"], "+"),
                  (_fig(r["noise"]) + ("" if r["paired"] else " u")) if r["noise"] is not None else "–",
                  "*" if r["significant"] else "")
    out.print(t)
    out.print("* beyond noise: |Δ| > 2 standard errors of the per-question differences\n"
              "  (paired, from per_question.jsonl); 'u': unpaired, 2·sqrt(se_A² + se_B²)", style="dim")


@eval_app.command("run", short_help="Evaluate on a gold suite (the default command).")
def eval_command(
    suite_path: Annotated[str, typer.Argument(metavar="SUITE", help="A BEIR suite folder or a SQuAD .json file.")],
    split: Annotated[Optional[str], typer.Option(help="Split (qrels/<split>.tsv); default test, else dev.")] = None,
    modes: Annotated[str, typer.Option(help="Comma-separated: bm25, dense, hybrid (= hybrid-rrf), hybrid-weighted.")] = "bm25,dense,hybrid,hybrid-weighted",
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Fit the abstention threshold and confidence on the dev split first, and save them.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Report folder (default eval/reports/<suite>-<split>-<time>).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Trial run: first N questions; a large corpus is cut to their documents plus 10*N others.")] = None,
    model: Annotated[str, typer.Option(envvar="QA_MODEL", help="Embedding model.")] = "all-MiniLM-L6-v2",
    default_mode: Annotated[str, typer.Option(help="The mode the headline and --calibrate use.")] = "hybrid-weighted",
    top_k: Annotated[int, typer.Option(min=1, max=50, help="Passages per answer, as in qa ask.")] = 5,
    max_sentences: Annotated[int, typer.Option(min=1, max=10, help="Most sentences in an answer.")] = 3,
    depth: Annotated[Optional[int], typer.Option(min=1, help="Override: candidates per leg before fusion.")] = None,
    rrf_k: Annotated[Optional[int], typer.Option(min=1, help="Override: RRF k.")] = None,
    alpha: Annotated[Optional[float], typer.Option(min=0, max=1, help="Override: dense weight in hybrid-weighted.")] = None,
    max_risk: Annotated[float, typer.Option(min=0, max=1, help="--calibrate: most wrong answers allowed among answered on dev; 1 = no bound, plain max accuracy (the default: on 32 dev questions a 5% bound left qa answering a third of answerable questions).")] = 1.0,
    calibration_out: Annotated[Optional[Path], typer.Option(help="Where --calibrate writes (default: the file QA_CALIBRATION names, else calibration.json in the report folder).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Index cache folder (default eval/cache).")] = None,
    vocabulary: Annotated[bool, typer.Option(help="Read questions with the corpus's vocabulary (typo corrections, its abbreviations); --no-vocabulary asks them as typed.")] = True,
    perturb: Annotated[Optional[int], typer.Option(metavar="SEED", help="Ask every question as typed in a hurry (shorthand, typos, British spelling; seeded, see qa/eval/perturb.py).")] = None,
) -> None:
    """Evaluate qa on a gold SUITE (all modes side by side) and write a report (the default command)."""
    require_extra("eval")
    from dataclasses import replace

    from qa.query.answer_model import ModelError, load_model
    from qa.query.calibration import load_calibration
    from qa.embed import EmbedderError, load_embedders
    from qa.query.engine import RetrievalParams
    from qa.eval import report as R
    from qa.eval.runner import EvalSettings, evaluate_suite, parse_modes
    from qa.eval.suites import SuiteError, load_suite
    from qa.index.store import IndexError_

    try:
        mode_list = parse_modes(modes)
        default = parse_modes(default_mode)[0]
        retrieval = RetrievalParams()
        retrieval = replace(retrieval, **{k: v for k, v in (("depth", depth), ("rrf_k", rrf_k), ("alpha", alpha)) if v is not None})
    except ValueError as e:
        fail(str(e))
    if default not in mode_list:
        mode_list.append(default)
    settings = EvalSettings(modes=mode_list, default_mode=default, top_k=top_k, max_sentences=max_sentences,
                            limit=limit, retrieval=retrieval, vocabulary=vocabulary)
    try:
        suite = load_suite(Path(suite_path), split, cache_dir)
        if perturb is not None:
            from qa.eval.perturb import perturb_suite

            suite = perturb_suite(suite, perturb)
        calibration = load_calibration()  # a site's own (QA_CALIBRATION), else None: the model's own
        answer_model = load_model()
        embedder, questions = load_embedders(model)
    except (SuiteError, EmbedderError, ModelError, ValueError) as e:
        fail(str(e))

    def run(s, st, cal, engine=None, label=""):
        with _progress() as bar:
            idx = bar.add_task("index", total=None, visible=False)
            qs = bar.add_task(label or "answer", total=min(len(s.queries), st.limit or len(s.queries)))

            def on_index(stage, done, total):
                bar.update(idx, visible=True, completed=done, total=total)

            return evaluate_suite(s, embedder, st, cal, engine=engine, cache_dir=cache_dir, on_index=on_index, questions=questions,
                                  on_question=lambda n: bar.advance(qs, n))

    fit_report, engine = None, None
    folder = out_dir or (R.ROOT / "eval" / "reports" / f"{suite.name}-{suite.split}"
                                                      f"{'' if perturb is None else '-perturbed'}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    try:
        if calibrate:
            calibration, fit_report, dev_engine = _calibrate(
                Path(suite_path), suite, cache_dir, lambda s_, st, cal=calibration: run(s_, st, cal, label="dev"),
                replace(settings, modes=[default]), calibration or answer_model.variants["hybrid"].calibration,
                answer_model.sha256, max_risk, calibration_out, Path(folder))
            if not limit:
                engine = dev_engine  # same corpus, same index
        report, per_q, _ = run(suite, settings, calibration, engine=engine)
    except (SuiteError, IndexError_, EmbedderError) as e:
        fail(str(e))
    if fit_report:
        report["calibration"] = fit_report
    report["perturbed_seed"] = perturb
    R.write(report, Path(folder), per_q)
    out.print(_table(report))
    d = report["modes"][default]
    if "abstention" in d and suite.has_unanswerable:
        ab = d["abstention"]
        out.print(f"{default} at threshold {ab['threshold']}: accuracy {ab['accuracy']:.3f}; answerable questions "
                  f"answered with gold citation {ab['answerable_accuracy']:.3f}; unanswerable abstained "
                  f"{ab['unanswerable_accuracy']:.3f}; risk {ab['risk']:.3f}", highlight=False)
    out.print(f"report: {folder}/report.md  (index {'reused' if report['index_reused'] else 'built'}, "
              f"{report['seconds']['total']:.0f} s)", highlight=False)


def _calibrate(suite_path: Path, suite, cache_dir, run_dev, dev_settings, start, model_sha: str, max_risk: float,
               calibration_out: Path | None, folder: Path):
    """Fit threshold and confidence on the suite's dev split, save them; (calibration, fit report, dev engine)."""
    from qa.config import runtime
    from qa.eval.calibrate import fit
    from qa.eval.suites import load_suite

    default = dev_settings.default_mode
    if suite.format == "beir":
        if "dev" not in suite.splits:
            fail(f"--calibrate fits on the dev split, and {suite.path} has none (splits: {', '.join(suite.splits)})")
        dev = load_suite(suite_path, "dev", cache_dir)
    else:  # one file, one split: fitting on it and then reporting it would tune to the report
        fail(f"--calibrate fits on a dev split and reports another; {suite.path} is a single-split "
             "SQuAD file: convert it to a BEIR folder with dev and test splits, or evaluate without --calibrate")
    dev_report, dev_rows, dev_engine = run_dev(dev, dev_settings)
    rows = [r for r in dev_rows if r["mode"] == default and (r["answer_hit@1"] is not None or not r["answerable"])]
    if not rows:
        fail(f"--calibrate needs gold evidence or unanswerable questions in the dev split of {suite.path}")
    # the file qa ask and the API read when QA_CALIBRATION names it; never the package's model
    site_file = runtime().calibration
    env = str(site_file) if site_file else None
    target = calibration_out or (Path(env) if env else folder / "calibration.json")
    calibration, fit_report = fit(
        [r["raw"] for r in rows], [r["answerable"] for r in rows], [bool(r["answer_hit@1"]) for r in rows],
        f"{dev.name} {dev.split} ({len(rows)} questions, mode {default}, index {dev_report['index_id']})",
        start, max_risk=max_risk, model_sha=model_sha)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    calibration.save(target)
    fit_report["written_to"] = str(target)
    err.print(f"calibrated on {dev.name}/{dev.split}: threshold {calibration.threshold} "
              f"(dev accuracy {fit_report['dev']['accuracy']:.3f}, risk {fit_report['dev']['risk']:.3f}) -> {target}"
              + ("" if env == str(target) else
                 f"; qa ask and qa serve use it with QA_CALIBRATION={target}"), highlight=False)
    if not fit_report["dev"]["risk_bound_met"]:
        err.print(f"[yellow]warning:[/] no threshold keeps wrong answers <= {max_risk:.0%} on dev except abstaining on "
                  f"every question; loosened to <= {fit_report['dev']['risk_bound_used']:.0%} (dev risk "
                  f"{fit_report['dev']['risk']:.2f})", highlight=False)
    return calibration, fit_report, dev_engine
