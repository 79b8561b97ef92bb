"""Stage 2, index: Chunks -> an index folder (vectors, BM25, sentences, manifest), and back.

    build.py    the build: read, chunk, embed (reusing unchanged vectors), write, swap atomically
    store.py    the on-disk format (versioned, checksummed) and `IndexData`, what a loaded index is
    bm25.py     the BM25 index, with a sorted vocabulary so two builds are byte-identical
    vectors.py  FAISS flat or IVF, chosen by size, with filtered search by ID selector
"""
