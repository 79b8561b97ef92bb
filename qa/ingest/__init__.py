"""Stage 1, ingest: source files -> `Document`s (clean text, sections, pages) -> `Chunk`s.

    corpus.py     read a folder of .md/.txt/.html/.pdf (or a BEIR corpus.jsonl) into Documents
    sentences.py  sentence spans of a text, for chunking and for the answerer's quotes
    chunk.py      sentence-aligned, section-aware chunks with character offsets into the text
    references.py each document's own reference list, and the markers in its sentences that cite it

Nothing here knows about vectors, indexes or questions.
"""
