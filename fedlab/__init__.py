"""fedlab."""
