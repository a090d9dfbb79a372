from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from ipdesk.core.rest import unknown_path
from ipdesk.receipts import urls as receipts_urls

api_v1 = [
    path("", include("ipdesk.accounts.api")),
    path("", include("ipdesk.core.api")),
    path("", include("ipdesk.tariff.api")),
    path("", include("ipdesk.collection.api")),
    path("", include("ipdesk.receipts.api")),
    path("", include("ipdesk.delivery.api")),
    path("", include("ipdesk.settlement.api")),
    re_path(r"", unknown_path, name="unknown-path"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(".well-known/ipdesk/", include(receipts_urls.well_known)),
    path("verify/", include("ipdesk.receipts.urls")),
    path("pickup/", include("ipdesk.delivery.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("ipdesk.accounts.urls")),
    path("my/", include("ipdesk.portal.urls")),
    path("fees/", include("ipdesk.tariff.urls")),
    path("collection/", include("ipdesk.collection.urls")),
    path("settlement/", include("ipdesk.settlement.urls")),
    path("", include("ipdesk.home.urls")),
]

# Django's own error answers: JSON in the API's error shape under /api/, pages elsewhere.
handler400 = "ipdesk.core.middleware.bad_request"
handler403 = "ipdesk.core.middleware.permission_denied"
handler404 = "ipdesk.core.middleware.page_not_found"
handler500 = "ipdesk.core.middleware.server_error"
