"""/api/v1/: the read-only REST API, its OpenAPI schema and its docs page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from celltypes.api import views

app_name = "api"

router = DefaultRouter()
router.register("cells", views.CellViewSet, basename="cell")
router.register("sweeps", views.SweepViewSet, basename="sweep")
router.register("ephys-features", views.EphysFeatureViewSet, basename="ephys-feature")
router.register("morphology-features", views.MorphologyFeatureViewSet, basename="morphology-feature")
router.register("reconstructions", views.ReconstructionViewSet, basename="reconstruction")
router.register("models", views.NeuronalModelViewSet, basename="model")
router.register("files", views.WellKnownFileViewSet, basename="file")

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's files; our template drops its inline <style> (CSP).
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/docs.html"),
        name="docs",
    ),
    path("api/v1/", include(router.urls)),
    re_path(r"^api/v1/(?P<rest>(?s:.*))$", views.not_found, name="not-found"),  # (?s): a newline too
]
