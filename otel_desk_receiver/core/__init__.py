"""What happens to entries: cursors and their store, settle rules, mapping to records, the per-bot pipeline."""
