from django.urls import path

from . import api, views

app_name = "receipts"
urlpatterns = [path("", views.verify_page, name="verify")]

# Served under /.well-known/ipdesk/ (see ipdesk/urls.py), outside the receipts namespace.
well_known = [
    path("keys.json", api.public_keys, name="receipt-keys"),
    path("certificates.pem", api.public_certificates, name="receipt-certificates"),
]
