"""The verification pipeline: parse → verify → policy → result (api.md)."""
