"""The API plus a bare Ninja endpoint returning a constant 2 KB JSON document, twice: at
/bench/floor (the bare floor, served with no middleware by bench/bare_settings.py) and at
/api/bench/floor, where it passes every middleware an API route passes (the middleware floor)."""

from django.urls import path
from ninja import NinjaAPI

from api.urls import urlpatterns as api_urlpatterns

floor_api = NinjaAPI(urls_namespace="bench", docs_url=None, openapi_url=None)

# About 2 KB once rendered, shaped like a small catalog answer.
FLOOR_PAYLOAD = {
    "items": [
        {
            "id": n,
            "name": f"Item number {n:03d}",
            "slug": f"item-number-{n:03d}",
            "price": "19.99",
            "in_stock": True,
        }
        for n in range(20)
    ]
}


@floor_api.get("/floor")
def floor(request):
    return FLOOR_PAYLOAD


urlpatterns = [
    path("bench/", floor_api.urls),
    path("api/bench/", floor_api.urls),
    *api_urlpatterns,
]
