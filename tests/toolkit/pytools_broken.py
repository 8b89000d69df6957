"""A module whose import fails inside its own code."""

raise RuntimeError("database URL not configured")
