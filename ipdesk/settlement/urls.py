from django.urls import path

from . import views

app_name = "settlement"
urlpatterns = [
    # An agency office's own pages.
    path("", views.statements, name="statements"),
    path("interest", views.declare_interest, name="interest"),
    path("statements/<int:pk>/", views.statement_detail, name="statement"),
    path("statements/<int:pk>/confirm", views.confirm, name="confirm"),
    path("statements/<int:pk>/dispute", views.dispute, name="dispute"),
    path("statements/<int:pk>/remittances", views.remit, name="remit"),
    path("reports/", views.monthly_reports, name="reports"),
    path("days/", views.days, name="days"),
    # The fee office's pages.
    path("board/", views.board, name="board"),
    path("board/close", views.close_month, name="close-month"),
    path("board/download", views.summary_download, name="summary-download"),
    path("statements/<int:pk>/correct", views.correct, name="correct"),
    path("offices/<str:code>/", views.office_statements, name="office"),
    path("offices/<str:code>/penalties/", views.penalties, name="penalties"),
    path("offices/<str:code>/penalties/deduction", views.deduction, name="deduction"),
    path("submissions/<int:pk>/excuse", views.excuse, name="excuse"),
    # Both: the office's own staff and the fee office.
    path("offices/<str:code>/reports", views.reports_download, name="reports-download"),
]
