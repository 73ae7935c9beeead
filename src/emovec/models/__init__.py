"""Model specs and the one loading path (Hugging Face + TransformerLens TransformerBridge)."""
