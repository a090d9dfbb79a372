from django.urls import path

from . import views

app_name = "collection"
urlpatterns = [
    path("", views.today, name="today"),
    path("volumes/open", views.open_volume, name="open-volume"),
    path("volumes/<int:pk>/", views.volume_detail, name="volume"),
    path("volumes/<int:pk>/close", views.close_volume, name="close-volume"),
    path("volumes/<int:pk>/review", views.review_volume, name="review-volume"),
    path("volumes/<int:pk>/book", views.book, name="book"),
    path("volumes/<int:pk>/quote", views.quote, name="quote"),
    path("payments/<int:pk>/send-back", views.send_back, name="send-back"),
    path("reports/", views.daily_report, name="report"),
]
