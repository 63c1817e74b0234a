"""A throwaway API that raises every kind of error, mounted in front of the real URLs."""

from django.contrib.auth import get_user_model
from django.urls import include, path
from ninja import Body, Schema
from ninja.security import HttpBearer
from ninja_extra import NinjaExtraAPI, api_controller, route
from ninja_extra import exceptions as extra_exceptions
from ninja_extra.pagination import paginate
from pydantic import ConfigDict, Field

from api import errors
from api.auth import JWTAuth, OptionalJWTAuth
from api.pagination import Page, PageNumberPagination
from api.permissions import IsStaff, StaffWithPerms


class NeverAuth(HttpBearer):
    def authenticate(self, request, token):
        return None


class ThingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=20)
    quantity: int = Field(ge=1)


class UserOut(Schema):
    id: int
    email: str


@api_controller("/probe", auth=None)
class ProbeController:
    @route.post("/validate")
    def validate(self, payload: ThingIn):
        return {"ok": True}

    @route.get("/domain")
    def domain(self):
        raise errors.Conflict("Only 3 left.", code="insufficient_stock", details={"available": 3})

    @route.get("/crash")
    def crash(self):
        raise RuntimeError("secret internals")

    @route.get("/forbidden")
    def forbidden(self):
        raise extra_exceptions.PermissionDenied()

    @route.get("/throttled")
    def throttled(self):
        raise extra_exceptions.Throttled(wait=7)

    @route.get("/private", auth=NeverAuth())
    def private(self):
        return {"ok": True}

    @route.post("/upload")
    def upload(self, payload: dict = Body(...)):
        return {"ok": True}

    @route.get("/staff", auth=JWTAuth(), permissions=[IsStaff])
    def staff(self):
        return {"ok": True}

    @route.get("/user-admin", auth=JWTAuth(), permissions=[StaffWithPerms("core.view_user")])
    def user_admin(self):
        return {"ok": True}

    @route.get("/maybe", auth=OptionalJWTAuth())
    def maybe(self, request):
        return {"user_id": request.auth.pk}

    @route.get("/users", response=Page[UserOut])
    @paginate(PageNumberPagination)
    def users(self):
        return get_user_model().objects.order_by("id")


probe_api = NinjaExtraAPI(urls_namespace="probe-api", docs_url=None, openapi_url=None)
errors.install_exception_handlers(probe_api)
probe_api.register_controllers(ProbeController)


def django_crash(request):
    raise RuntimeError("a plain Django view failed")


urlpatterns = [
    path("test-api/", probe_api.urls),
    path("django-crash", django_crash),
    path("", include("api.urls")),
]
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
handler400 = "api.views.bad_request"
