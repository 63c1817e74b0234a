from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.static import serve

from api import views
from api.api import api
from api.metrics import metrics_view
from core.views import admin_login

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("api/redoc", views.redoc, name="redoc"),
    path("api/", api.urls),
    # Before admin.site.urls: the admin's login under the API's failed sign-in limits.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    # Development only: nginx serves media in production.
    urlpatterns.append(
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )

handler400 = "api.views.bad_request"
handler403 = "api.views.permission_denied"
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
