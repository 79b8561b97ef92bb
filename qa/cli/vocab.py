"""`qa vocab`: what an index learned from its corpus: the abbreviations it defines, and its words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qa.cli.common import DEFAULT_INDEX, app, fail, out


@app.command(short_help="List the abbreviations an index learned from its corpus.")
def vocab(
    index_dir: Annotated[Path, typer.Argument(help="Index folder (default index/default).")] = DEFAULT_INDEX,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List the abbreviations INDEX_DIR's corpus defines ("minimal residual disease (MRD)"), each
    with the document and offset of its definition. Questions that use a short form are also
    searched with its long forms, and question words the corpus never uses are corrected to the
    nearest word it does (the answer says so)."""
    from dataclasses import asdict

    from qa.index.store import IndexError_, read_manifest, verify_files
    from qa.index.vocabulary import FILE, Vocabulary

    try:
        manifest = read_manifest(index_dir)
        verify_files(index_dir, manifest, only=(FILE,))  # the one file read, not the whole index's vectors
        v = Vocabulary.load(index_dir / FILE)
    except (IndexError_, ValueError) as e:
        fail(str(e))
    defs = v.listed()
    if as_json:
        print(json.dumps({"index_id": manifest.get("index_id"), "words": len(v.words),
                          "abbreviations": [asdict(d) for d in defs]}, ensure_ascii=False))
        return
    if not (index_dir / FILE).exists():
        out.print(f"{index_dir} was built before qa learned vocabularies; rebuild it with `qa index` to learn one")
        return
    for d in defs:
        out.print(f"{d.short:<12} {d.long}  ({d.doc_id}, char {d.start})", highlight=False, markup=False)
    out.print(f"{len(defs)} abbreviations defined in the corpus; {len(v.words)} distinct words", style="dim")
