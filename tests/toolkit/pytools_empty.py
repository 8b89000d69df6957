"""A module that offers no tools at all."""


def plain(x: int) -> int:
    return x
