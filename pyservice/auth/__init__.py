"""Partner authentication (security.md §Partners)."""
