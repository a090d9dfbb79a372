from django.urls import path

from . import views

# The namespace is still "core": the page lived there before it moved up (see views.py).
app_name = "core"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
