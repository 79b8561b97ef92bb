"""`qa index`: build a searchable index of a corpus (chunks, sentences, vectors, BM25)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.cli.common import DEFAULT_INDEX, _progress, app, err, fail, out


@app.command(short_help="Index a corpus: chunks, sentences, vectors, BM25.")
def index(
    corpus: Annotated[Path, typer.Argument(help="Folder or file: .md .txt .html .pdf, or a BEIR corpus.jsonl.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the index goes (replaced atomically).")] = DEFAULT_INDEX,
    model: Annotated[str, typer.Option(envvar="QA_MODEL", help="sentence-transformers model name or path.")] = "all-MiniLM-L6-v2",
    reuse: Annotated[bool, typer.Option(help="Reuse vectors of unchanged texts from the existing index.")] = True,
    encoder: Annotated[str, typer.Option(envvar="QA_ENCODER", help="auto (torch in bf16 where the CPU has bf16 hardware, else int8 ONNX), torch or onnx.")] = "auto",
    ray: Annotated[Optional[str], typer.Option(
        "--ray", help="Embed on a Ray cluster: local (start one on this machine), auto (the one `ray start` "
        "runs here) or HOST:PORT. The index is the same as without it. Needs pip install -e '.[cluster]'.")] = None,
    ray_workers: Annotated[Optional[int], typer.Option(min=1, help="Ray actors embedding at once (default: one per CPU of the cluster).")] = None,
    shards: Annotated[Optional[int], typer.Option(
        min=1, max=1024, help="Split the index into this many shards (documents hashed to shards, each an "
        "ordinary index, BM25 scored with the whole corpus's statistics); searched in parallel, one Ray "
        "actor a shard with --ray. See docs/scale.md.")] = None,
) -> None:
    """Build a searchable index of CORPUS: chunks, sentences, vectors and BM25."""
    from qa.index.build import build_index
    from qa.ingest.corpus import CorpusError
    from qa.embed import EmbedderError, load_embedder
    from qa.index.store import IndexError_
    from rich.markup import escape

    try:
        embedder = load_embedder(model, encoder, role="index")
        if ray:
            from qa.cluster.embed import RayEmbedder, connect

            connect(ray)
            embedder = RayEmbedder(embedder, ray_workers)
        with _progress() as bar:
            task = bar.add_task("embed", total=None)
            kw = dict(
                reuse=reuse,
                progress=lambda stage, done, total: bar.update(task, description=stage, completed=done, total=total),
                on_skip=lambda s: err.print(f"[yellow]skipped[/] {escape(s.path)}: {escape(s.reason)}", highlight=False),
                on_notice=lambda n: err.print(f"[cyan]note[/] {escape(n.path)}: {escape(n.message)}", highlight=False),
            )
            if shards:
                from qa.index.shards import build_sharded, summary

                stats = summary(build_sharded(corpus, out_dir, embedder, shards, **kw))
            else:
                stats = build_index(corpus, out_dir, embedder, **kw)
    except (CorpusError, EmbedderError, IndexError_) as e:
        fail(str(e))
    except KeyboardInterrupt:  # the build writes a hidden folder and swaps it in last: nothing to undo
        fail(f"interrupted: the build was stopped and the previous index at {out_dir} is intact "
             "(the next build clears what this one left)", code=130)
    except OSError as e:
        fail(f"could not write the index to {out_dir}: {e.strerror or e}; the previous index is unchanged")
    out.print(
        f"indexed {stats.documents} documents: {stats.chunks} chunks, {stats.sentences} sentences "
        f"in {stats.total_seconds:.1f} s ({stats.embedded} texts embedded, {stats.reused} vectors reused, {stats.copies} repeated texts) -> {out_dir} "
        f"[index_id {stats.index_id}]"
    )
    if stats.calibration:
        out.print(f"abstention calibration: the corpus's own qa-calibration.json ({stats.calibration})", highlight=False)
    if stats.skipped:
        out.print(f"{len(stats.skipped)} file(s) skipped (see warnings above)")
