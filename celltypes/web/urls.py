from django.urls import path

from celltypes.web.views import health, home

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("health", health.health, name="health"),
]
