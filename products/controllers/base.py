from ninja_extra import ControllerBase


class CatalogControllerBase(ControllerBase):
    # ninja-extra builds a controller per request through `injector`, which reads the
    # signature of __init__: object.__init__'s is parsed from text every time (about 0.3 ms,
    # measured); a Python __init__ is read from its code object.
    def __init__(self) -> None:
        pass
