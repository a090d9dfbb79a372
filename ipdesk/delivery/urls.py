from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("", views.pickup_page, name="pickup"),
    path("download", views.pickup_download, name="pickup-download"),
]
