from django.urls import path, re_path

import celltypes.converters  # noqa: F401  registers <id:...>
from celltypes.web.views import cells, ephys_api, health, help, home, models, morphology_fetch, search

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("health", health.health, name="health"),
    path("help/", help.help_page, name="help"),
    re_path(
        r"^experiment/(?P<kind>electrophysiology|morphology)/(?P<specimen_id>[0-9]{1,18})/?$",
        help.allen_experiment,
        name="allen_experiment",
    ),
    path("cells/", search.cell_search_page, name="cell_search"),
    path("cells/download.csv", search.cell_download, {"fmt": "csv"}, name="cell_download_csv"),
    path("cells/download.json", search.cell_download, {"fmt": "json"}, name="cell_download_json"),
    path("cells/parcoords.json", search.cell_parcoords, name="cell_parcoords"),
    path("cell/<id:specimen_id>/", cells.cell_detail, {"tab": "overview"}, name="cell_detail"),
    path("cell/<id:specimen_id>/ephys/", cells.cell_detail, {"tab": "ephys"}, name="cell_ephys"),
    path("cell/<id:specimen_id>/ephys/sweep/<id:sweep_number>.json", ephys_api.sweep_trace, name="cell_sweep_trace"),
    path(
        "cell/<id:specimen_id>/ephys/sweep/<id:sweep_number>/analysis.json",
        ephys_api.sweep_analysis,
        name="cell_sweep_analysis",
    ),
    path("cell/<id:specimen_id>/ephys/fetch", ephys_api.nwb_fetch, name="cell_nwb_fetch"),
    path("cell/<id:specimen_id>/ephys/fetch/status", ephys_api.nwb_fetch_status, name="cell_nwb_fetch_status"),
    path("cell/<id:specimen_id>/ephys/thumbnail.svg", ephys_api.ephys_thumbnail, name="cell_ephys_thumbnail"),
    path(
        "cell/<id:specimen_id>/ephys/thumbnail/fragment",
        ephys_api.ephys_thumbnail_fragment,
        name="cell_ephys_thumbnail_fragment",
    ),
    path("cell/<id:specimen_id>/morphology/", cells.cell_detail, {"tab": "morphology"}, name="cell_morphology"),
    path("cell/<id:specimen_id>/morphology/fetch", morphology_fetch.swc_fetch, name="cell_swc_fetch"),
    path(
        "cell/<id:specimen_id>/morphology/fetch/status",
        morphology_fetch.swc_fetch_status,
        name="cell_swc_fetch_status",
    ),
    path("cell/<id:specimen_id>/models/", cells.cell_detail, {"tab": "models"}, name="cell_models"),
    path("cell/<id:specimen_id>/models/<id:model_id>/run.json", models.model_run, name="model_run"),
    path("cell/<id:specimen_id>/models/fetch", models.missing_models_fetch, name="cell_models_fetch"),
    path(
        "cell/<id:specimen_id>/models/fetch/status", models.missing_models_fetch_status, name="cell_models_fetch_status"
    ),
    path("cell/<id:specimen_id>/models/<id:model_id>/fi.json", models.model_fi_curve, name="model_fi_curve"),
    path(
        "cell/<id:specimen_id>/models/<id:model_id>/explained_variance.json",
        models.model_explained_variance,
        name="model_explained_variance",
    ),
]
