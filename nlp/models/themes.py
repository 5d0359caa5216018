"""Theme taxonomy and tags (issue: theme tagging)."""

__all__: list[str] = []
