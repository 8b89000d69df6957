"""A module that imports a package that is not installed."""

import toolgym_absent_dependency  # noqa: F401
