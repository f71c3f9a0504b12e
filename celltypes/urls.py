from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("celltypes.api.urls")),
    path("", include("celltypes.rma.urls")),
    path("", include("celltypes.web.urls_morphology")),
    path("", include("celltypes.sync.urls")),
    path("", include("celltypes.web.urls")),
]
