from django.urls import path

from celltypes.sync import views

app_name = "sync"

urlpatterns = [
    path("sync/", views.sync_status, name="status"),
]
