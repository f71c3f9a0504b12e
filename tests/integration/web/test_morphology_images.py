"""The morphology tab's pictures, each labelled for what it is: Allen's projection images and image stack where
this copy lists them (synthetic rows here: the demo set holds none), our drawings of the SWC otherwise."""

import json
import re
from html import escape

import pytest

from celltypes.atlas.vocabulary import ALLEN_PROJECTION_LABEL, ALLEN_STACK_LABEL, DRAWN_PROJECTION_LABEL
from celltypes.web.presenters.morphology import allen_image_downsample
from tests.factories import ProjectionImageFactory, SectionDataSetFactory, SubImageFactory

pytestmark = pytest.mark.django_db

PUBLISHED = 488683425  # a cell whose SWC is held: drawn here unless Allen's projections are listed
NO_RECONSTRUCTION = 565871768  # a mouse cell without a reconstruction in Allen's table


def tab(client, specimen_id: int) -> str:
    response = client.get(f"/cell/{specimen_id}/morphology/")
    assert response.status_code == 200
    return response.content.decode()


def test_without_allens_images_the_projections_are_ours_and_say_so(client):
    html = tab(client, PUBLISHED)
    assert "data-drawn-projections" in html and DRAWN_PROJECTION_LABEL in html
    assert escape(ALLEN_PROJECTION_LABEL) not in html and "data-image-stack" not in html
    assert "Projections drawn here from the SWC:" in html  # the downloads, at their own URL
    assert 'href="/swc_projection/527109147/xy.svg"' in html


def test_allens_projection_images_take_the_place_of_our_drawings(client):
    maximum = ProjectionImageFactory(specimen_id=PUBLISHED, image_type="Maximum Intensity Projection", width=2400)
    minimum = ProjectionImageFactory(specimen_id=PUBLISHED, image_type="Minimum Intensity Projection", width=None)
    ProjectionImageFactory(specimen_id=PUBLISHED, failed=True)  # Allen's failed images are not shown
    html = tab(client, PUBLISHED)
    assert "data-drawn-projections" not in html  # the SWC drawings still download, labelled, from the side panel
    figures = re.findall(r'<figure class="allen-image" data-source="allen" data-image-id="(\d+)">', html)
    assert figures == [str(maximum.id), str(minimum.id)]
    assert f'<img src="/api/v2/section_image_download/{maximum.id}?downsample=2" width="600" height="120"' in html
    assert f'src="/api/v2/section_image_download/{minimum.id}?downsample=0"' in html
    assert html.count(f'<strong class="image-source">{escape(ALLEN_PROJECTION_LABEL)}</strong>') == 2
    assert "Maximum Intensity Projection" in html and "Minimum Intensity Projection" in html


def test_the_image_stack_viewer_lists_the_planes_in_section_order(client):
    data_set = SectionDataSetFactory(specimen_id=PUBLISHED)
    planes = [SubImageFactory(data_set=data_set, section_number=n, width=1280, height=960) for n in (12, 10, 11)]
    SubImageFactory(data_set=data_set, section_number=13, failed=True)
    html = tab(client, PUBLISHED)
    assert "data-image-stack" in html and f"{escape(ALLEN_STACK_LABEL)} <span" in html and "3 planes" in html
    data = json.loads(re.search(r'<script id="image-stack-data" type="application/json">(.*?)</script>', html)[1])
    assert [p["section_number"] for p in data["planes"]] == [10, 11, 12]
    assert [p["id"] for p in data["planes"]] == [planes[1].id, planes[2].id, planes[0].id]
    assert data["planes"][0] == {
        "id": planes[1].id,
        "section_number": 10,
        "url": f"/api/v2/section_image_download/{planes[1].id}",
        "downsample": 2,
        "width": 320,
        "height": 240,
    }
    assert data["zooms"] == [1, 2, 4] and data["label"] == ALLEN_STACK_LABEL  # the viewer's alt text names it so
    # Without JavaScript: the first plane, and a link to every plane.
    assert f'src="/api/v2/section_image_download/{planes[1].id}?downsample=2" width="320" height="240"' in html
    assert html.count('<li><a href="/api/v2/section_image_download/') == 3
    # The drawn projections stay: a stack is not a projection.
    assert "data-drawn-projections" in html


def test_a_cell_without_a_reconstruction_still_shows_allens_images(client):
    image = ProjectionImageFactory(specimen_id=NO_RECONSTRUCTION)
    html = tab(client, NO_RECONSTRUCTION)
    assert "data-no-reconstruction" in html
    assert f'data-image-id="{image.id}"' in html


@pytest.mark.parametrize(("width", "downsample"), [(None, 0), (600, 0), (601, 1), (1201, 1), (1202, 2), (7568, 4)])
def test_allens_images_are_asked_for_downsampled_to_about_the_shown_width(width, downsample):
    assert allen_image_downsample(width) == downsample
