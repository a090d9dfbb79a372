from django.urls import path

from . import views

app_name = "tariff"
urlpatterns = [path("", views.quote_page, name="quote")]
