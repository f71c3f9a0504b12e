from django.urls import path

import celltypes.converters  # noqa: F401  registers <id:...>
from celltypes.web.views import cells, ephys_api, health, home, models, search

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("health", health.health, name="health"),
    path("cells/", search.cell_search_page, name="cell_search"),
    path("cells/download.csv", search.cell_download, {"fmt": "csv"}, name="cell_download_csv"),
    path("cells/download.json", search.cell_download, {"fmt": "json"}, name="cell_download_json"),
    path("cell/<id:specimen_id>/", cells.cell_detail, {"tab": "overview"}, name="cell_detail"),
    path("cell/<id:specimen_id>/ephys/", cells.cell_detail, {"tab": "ephys"}, name="cell_ephys"),
    path("cell/<id:specimen_id>/ephys/sweep/<id:sweep_number>.json", ephys_api.sweep_trace, name="cell_sweep_trace"),
    path("cell/<id:specimen_id>/ephys/fetch", ephys_api.nwb_fetch, name="cell_nwb_fetch"),
    path("cell/<id:specimen_id>/ephys/fetch/status", ephys_api.nwb_fetch_status, name="cell_nwb_fetch_status"),
    path("cell/<id:specimen_id>/morphology/", cells.cell_detail, {"tab": "morphology"}, name="cell_morphology"),
    path("cell/<id:specimen_id>/models/", cells.cell_detail, {"tab": "models"}, name="cell_models"),
    path("cell/<id:specimen_id>/models/<id:model_id>/run.json", models.model_run, name="model_run"),
]
