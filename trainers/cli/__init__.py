"""``toolgym train`` command (registered through the ``toolgym.commands`` entry-point group)."""

__all__: list[str] = []
