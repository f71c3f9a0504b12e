"""Morphology pictures and plot data (celltypes/web/views/morphology_api.py documents each route).

Include from celltypes/urls.py with ``path("", include("celltypes.web.urls_morphology"))``.
"""

from django.urls import path, register_converter

import celltypes.converters  # noqa: F401  registers <id:...>
from celltypes.atlas.vocabulary import PREVIEW_FORMATS, PREVIEW_PLANES
from celltypes.web.views import morphology_api


class PlaneConverter:
    regex = "|".join(PREVIEW_PLANES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ImageFormatConverter(PlaneConverter):
    regex = "|".join(PREVIEW_FORMATS)


register_converter(PlaneConverter, "morphology_plane")
register_converter(ImageFormatConverter, "morphology_image_format")

app_name = "morphology"

PREVIEW = "cell/<id:specimen_id>/morphology/preview/<morphology_plane:plane>"

urlpatterns = [
    path(f"{PREVIEW}.<morphology_image_format:fmt>", morphology_api.preview_image, name="preview_image"),
    path(f"{PREVIEW}/fragment", morphology_api.preview_fragment, name="preview_fragment"),
    path("cell/<id:specimen_id>/morphology/plot.json", morphology_api.plot_json, name="plot_json"),
    path(
        "swc_projection/<id:swc_file_id>/<morphology_plane:plane>.<morphology_image_format:fmt>",
        morphology_api.swc_projection,
        name="swc_projection",
    ),
]
