from django.urls import path

from cases import views
from cases.screens import CASES
from crm.views import records

app_name = "cases"
urlpatterns = [
    path("", records.RecordListView.as_view(screen=CASES), name="case-list"),
    path("new/", records.RecordCreateView.as_view(screen=CASES), name="case-create"),
    path("<int:pk>/", views.CaseDetailView.as_view(screen=CASES), name="case-detail"),
    path("<int:pk>/edit/", records.RecordUpdateView.as_view(screen=CASES), name="case-edit"),
    path("<int:pk>/delete/", records.RecordDeleteView.as_view(screen=CASES), name="case-delete"),
]
