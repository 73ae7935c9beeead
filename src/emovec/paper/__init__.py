"""Paper outputs: LaTeX tables and figures rendered only from tracked pipeline outputs."""
