"""What every controller of the API shares: one base class, and the error answers they declare.

    @api_controller("/orders", auth=JWTAuth(), tags=["orders"])
    class OrderController(ApiController):
        @route.get("/{number}", response={200: OrderOut, **error_responses(401, 404, 429)})

Every error answer has the one shape of api/errors.py, so every declared error status names
ErrorOut, never a bare dict: clients and the schema checks (api/tests/test_openapi.py) read it.
The public catalog and search are plain Ninja routers on purpose (their modules say why).
"""

from __future__ import annotations

from ninja_extra import ControllerBase

from api.schemas import ErrorOut


class ApiController(ControllerBase):
    # ninja-extra builds a controller per request through `injector`, which reads the signature
    # of __init__: object.__init__'s is parsed from text every time (about 0.3 ms, measured); a
    # Python __init__ is read from its code object.
    def __init__(self) -> None:
        pass


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """{status: ErrorOut} for a route's `response=`."""
    return dict.fromkeys(statuses, ErrorOut)
