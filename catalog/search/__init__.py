"""Catalog search: text normalisation, indexing, the vector backend and hybrid retrieval."""
