from django.urls import path, re_path

import celltypes.converters  # noqa: F401  registers <id:...>
from celltypes.rma import image_views, views

FMT = r"(?P<fmt>json|xml|csv)"

urlpatterns = [
    re_path(rf"^api/v2/data/query\.{FMT}$", views.query, name="rma-query"),
    re_path(r"^api/v2/data(?:/enumerate)?\.json$", views.schema_index, name="rma-schema"),
    re_path(rf"^api/v2/data/(?P<model>[A-Za-z][A-Za-z0-9_]*)/query\.{FMT}$", views.model_query),
    re_path(r"^api/v2/data/(?P<model>[A-Za-z][A-Za-z0-9_]*)(?:/describe)?\.json$", views.schema_model),
    re_path(rf"^api/v2/data/(?P<model>[A-Za-z][A-Za-z0-9_]*)/(?P<pk>[0-9]{{1,18}})\.{FMT}$", views.model_record),
    path("api/v2/well_known_file_download/<id:file_id>", views.well_known_file_download, name="wkf-download"),
    path("neuronal_model/download/<id:model_id>", views.neuronal_model_download, name="model-download"),
    path(
        "api/v2/section_image_download/<id:image_id>",
        image_views.section_image_download,
        name="section-image-download",
    ),
    path("api/v2/image_download/<id:image_id>", image_views.image_download, name="image-download"),
    path(
        "api/v2/projection_image_download/<id:image_id>",
        image_views.projection_image_download,
        name="projection-image-download",
    ),
]
