from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.receipt_list, name="receipts"),
    path("zip/", views.zip_download, name="zip"),
    path("zip/<int:pk>/", views.zip_job, name="zip-job"),
    path("zip/<int:pk>/download", views.zip_job_file, name="zip-job-file"),
    path("receipts/<str:code>/<str:number>/", views.receipt_detail, name="receipt"),
    path("receipts/<str:code>/<str:number>/send", views.receipt_send, name="receipt-send"),
    path("wallets/", views.wallets, name="wallets"),
    path(
        "receipts/<str:code>/<str:number>/<str:fmt>",
        views.receipt_file,
        name="receipt-file",
    ),
]
