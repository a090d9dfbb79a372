from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.PasswordLoginView.as_view(), name="login"),
    path("phone/", views.phone_login, name="phone"),
    path("logout/", views.logout_view, name="logout"),
]
