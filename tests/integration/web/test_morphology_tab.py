"""The morphology tab (3D view, depth, feature comparison, downloads, previews) and the search cards' previews.

Against the real demo set; the file store is the session's temporary CELLTYPES_DATA_DIR (tests/conftest.py).
"""

from __future__ import annotations

import html as html_lib
import re
import shutil

import pytest

from celltypes.atlas import filestore
from celltypes.atlas.models import ApiCellTypesSpecimenDetail, ComputedMorphology
from celltypes.atlas.selectors.morphology import (
    REPRODUCIBLE,
    cell_reconstruction_with_swc,
    specimens_with_held_swc,
)
from celltypes.atlas.services import morphology as morphology_services
from celltypes.atlas.services.morphology import morphology_preview_render
from celltypes.atlas.tasks import computed_morphology_update_task
from celltypes.science.morphology import UNREPRODUCIBLE
from tests.integration.morphology.demo_cells import replace_held_bytes

pytestmark = pytest.mark.django_db

PUBLISHED = 488683425  # its SWC is reconstruction 527109145, the one Allen's current record describes
PUBLISHED_RECONSTRUCTION, PUBLISHED_SWC, PUBLISHED_MARKER = 527109145, 527109147, 12001545731
OLDER = 485184849  # its 10,671-node SWC is reconstruction 505202170; Allen's current record is 657298379
OLDER_RECONSTRUCTION, OLDER_CURRENT = 505202170, 657298379
NO_RECONSTRUCTION = 525011903
CORRUPTIBLE = 318331342  # a current reconstruction with a held SWC that no other test here reads
HELD = [
    464198958, 333604946, 479704527, 318331342, 468193142, 471129934, 485574832, 480169178, 485931158, 488683425,
    485184849, 320207387, 476126528, 469801569, 386049446,
]  # fmt: skip


def text(html: str) -> str:
    main = re.search(r"<main>(.*)</main>", html, re.S).group(1)
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", main).split()))


def tab(client, specimen_id: int) -> str:
    response = client.get(f"/cell/{specimen_id}/morphology/")
    assert response.status_code == 200
    return response.content.decode()


def row(html: str, feature: str) -> str:
    match = re.search(rf'<tr data-feature="{feature}"(.*?)</tr>', html, re.S)
    assert match, feature
    return match.group(0)


def cell(row_html: str, attribute: str) -> str:
    return html_lib.unescape(re.search(rf"<td[^>]*{attribute}>([^<]*)</td>", row_html).group(1))


def clear_previews(swc_file_id: int) -> None:
    shutil.rmtree(filestore.derived_path("previews", str(swc_file_id)), ignore_errors=True)


def test_the_tab_of_a_published_reconstruction_shows_published_and_computed_values_agreeing(client):
    html = tab(client, PUBLISHED)
    assert f"Reconstruction {PUBLISHED_RECONSTRUCTION}" in text(html)
    for name in REPRODUCIBLE:
        shown = row(html, name)
        if name == "average_bifurcation_angle_remote":  # Allen's record leaves it empty
            assert cell(shown, "data-published") == "—" and cell(shown, "data-computed") != "—"
            continue
        assert 'data-agrees="true"' in shown, name
        assert cell(shown, "data-published") == cell(shown, "data-computed"), name
    assert "Total length" in row(html, "total_length") and "µm" in row(html, "total_length")
    assert 'class="differs"' not in html  # nothing an SWC determines differs...
    assert "data-comparison-note" not in html  # ...so there is nothing to explain
    assert "data-drawn-older" not in html


def test_the_six_unreproducible_features_are_flagged_with_their_explanation(client):
    html = tab(client, PUBLISHED)
    for name, explanation in UNREPRODUCIBLE.items():
        shown = row(html, name)
        assert 'class="expected"' in shown
        details = re.search(r"<details[^>]*data-unreproducible><summary>([^<]+)</summary><p>(.*?)</p></details>", shown)
        assert details, name
        assert details.group(1) == "expected to differ"
        assert html_lib.unescape(details.group(2)) == explanation
    assert len(re.findall(r"data-unreproducible", html)) == len(UNREPRODUCIBLE) + 1  # and Hausdorff, not computed


def test_an_older_swc_is_compared_with_its_own_record_and_the_tab_says_so(client):
    html = tab(client, OLDER)
    shown = text(html)
    assert f"Drawn here: reconstruction {OLDER_RECONSTRUCTION}, an older reconstruction of this cell" in shown
    note = html_lib.unescape(re.search(r"<p class=\"notice\" data-comparison-note>([^<]+)</p>", html).group(1))
    assert f"This SWC is reconstruction {OLDER_RECONSTRUCTION}, an older reconstruction of the cell" in note
    assert f"published features are of reconstruction {OLDER_CURRENT}" in note
    # The current record's values stand beside the comparison.
    assert f"Current record<br><small>{OLDER_CURRENT}</small>" in html
    assert cell(row(html, "number_nodes"), "data-current") == "2058"
    assert 'data-agrees="true"' in row(html, "total_length")
    # Its SWC is held and downloadable; the current reconstruction's is listed but not held here.
    swc = cell_reconstruction_with_swc(specimen_id=OLDER)[1]
    assert f'href="/api/v2/well_known_file_download/{swc.id}" download' in html
    assert "not held in this copy" in shown


def test_a_cell_without_a_reconstruction_says_so(client):
    html = tab(client, NO_RECONSTRUCTION)
    assert "data-no-reconstruction" in html
    assert "No reconstruction" in text(html)
    assert "data-morphology-viewer" not in html and "data-feature=" not in html


def test_the_tab_holds_the_3d_view_the_depth_bar_and_the_downloads(client):
    html = tab(client, PUBLISHED)
    viewer = re.search(r"<section class=\"morph-viewer\"[^>]*>", html).group(0)
    assert f'data-plot-url="/cell/{PUBLISHED}/morphology/plot.json"' in viewer
    assert 'data-plotly-src="/static/js/plotly.min.js"' in viewer
    assert '<script src="/static/js/morphology.js" defer></script>' in html
    for view in ("front", "side", "top", "3d"):
        assert f'data-view="{view}"' in html
    # Depth from pia (0) to white matter (1), marked and printed, with the layer.
    depth = ApiCellTypesSpecimenDetail.objects.get(specimen_id=PUBLISHED).csl_normalized_depth
    assert f'data-depth="{depth:.3f}"' in html
    assert f"Soma depth {depth:.3f} from pia (0) to white matter (1), layer 5" in text(html)
    assert re.search(r'<circle cx="25" cy="[\d.]+" r="6" class="depth-soma"/>', html)
    # SWC and marker files, and the rendered projections.
    assert f'href="/api/v2/well_known_file_download/{PUBLISHED_SWC}" download' in html
    assert f'href="/api/v2/well_known_file_download/{PUBLISHED_MARKER}" download' in html
    for plane in ("xy", "yz"):
        for fmt in ("svg", "png"):
            assert f'href="/swc_projection/{PUBLISHED_SWC}/{plane}.{fmt}"' in html


def test_the_projections_show_at_once_when_rendered_and_poll_their_fragment_otherwise(client):
    clear_previews(PUBLISHED_SWC)
    try:
        html = tab(client, PUBLISHED)
        for plane in ("xy", "yz"):
            pending = re.search(
                rf'<figure class="morphology-preview" data-state="pending" data-plane="{plane}"[^>]*>', html
            )
            assert pending, plane
            assert f'hx-get="/cell/{PUBLISHED}/morphology/preview/{plane}/fragment"' in pending.group(0)
            assert 'hx-trigger="load"' in pending.group(0) and 'hx-swap="outerHTML"' in pending.group(0)
        morphology_preview_render(swc_file_id=PUBLISHED_SWC)
        html = tab(client, PUBLISHED)
        assert 'data-state="pending"' not in html
        for plane in ("xy", "yz"):
            assert f'<img src="/cell/{PUBLISHED}/morphology/preview/{plane}.png"' in html
    finally:
        clear_previews(PUBLISHED_SWC)


def test_missing_features_are_shown_and_the_worker_stores_them_a_get_writes_nothing(client, monkeypatch):
    ComputedMorphology.objects.filter(reconstruction_id=PUBLISHED_RECONSTRUCTION).delete()
    queued = []
    monkeypatch.setattr(morphology_services, "_enqueue", lambda name, *args: queued.append((name, args)))
    html = tab(client, PUBLISHED)
    assert not ComputedMorphology.objects.filter(reconstruction_id=PUBLISHED_RECONSTRUCTION).exists()
    assert queued == [(morphology_services.COMPUTE_TASK, (PUBLISHED_RECONSTRUCTION,))]
    computed_morphology_update_task(PUBLISHED_RECONSTRUCTION)  # what the worker runs
    computed = ComputedMorphology.objects.get(reconstruction_id=PUBLISHED_RECONSTRUCTION)
    assert computed.error is None
    assert cell(row(html, "number_tips"), "data-computed") == str(computed.features["number_tips"])
    queued.clear()
    tab(client, PUBLISHED)
    assert queued == []  # stored now: nothing more to ask for


@pytest.fixture
def corrupted_swc():
    """Garbage in the file store copy of CORRUPTIBLE's SWC for the test; the original bytes are put back after."""
    swc = cell_reconstruction_with_swc(specimen_id=CORRUPTIBLE)[1]
    original = filestore.well_known_file_path(swc.id).read_bytes()
    lines = original.split(b"\n")
    bad_line = next(i for i, line in enumerate(lines, 1) if line.strip() and not line.startswith(b"#")) + 2
    lines[bad_line - 1] = b"this is not an SWC line"
    replace_held_bytes(swc, b"\n".join(lines))  # as if the upstream's file were malformed
    try:
        yield swc, bad_line
    finally:
        replace_held_bytes(swc, original)
        clear_previews(swc.id)


def test_a_corrupted_swc_makes_the_tab_say_it_could_not_be_read(client, corrupted_swc):
    swc, bad_line = corrupted_swc
    response = client.get(f"/cell/{CORRUPTIBLE}/morphology/")
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(r"<p class=\"notice\" role=\"alert\" data-swc-error>(.*?)</p>", html, re.S)
    assert error
    message = text(f"<main>{error.group(1)}</main>")
    assert message.startswith("The reconstruction could not be read")
    assert f"line {bad_line}" in message and swc.file_name in message
    assert "data-morphology-viewer" not in html and "morphology-preview" not in html
    # The published record is still there, with nothing computed beside it.
    assert cell(row(html, "total_length"), "data-published") != "—"
    assert cell(row(html, "total_length"), "data-computed") == "—"
    # The figure and the preview fragment say the same.
    plot = client.get(f"/cell/{CORRUPTIBLE}/morphology/plot.json")
    assert plot.status_code == 422 and plot.json()["where"] == f"line {bad_line}"
    fragment = client.get(f"/cell/{CORRUPTIBLE}/morphology/preview/xy/fragment").content.decode()
    assert 'data-state="error"' in fragment and f"line {bad_line}" in fragment


# --- search cards ---------------------------------------------------------------------------------------------


def card(html: str, specimen_id: int) -> str:
    return re.search(rf'<article class="cell-card" data-specimen-id="{specimen_id}">(.*?)</article>', html, re.S).group(
        1
    )


def test_specimens_with_held_swc_are_found_in_one_query(django_assert_num_queries):
    without = [NO_RECONSTRUCTION, 313862022]
    with django_assert_num_queries(1):
        assert specimens_with_held_swc(HELD + without) == set(HELD)
    with django_assert_num_queries(0):
        assert specimens_with_held_swc([]) == set()


def test_cards_of_cells_with_a_held_swc_load_the_xy_preview_and_others_say_no_picture(client):
    html = client.get(f"/cells/?q={PUBLISHED}").content.decode()
    held = card(html, PUBLISHED)
    assert "morph-placeholder" not in held and "<svg" not in held  # no cartoon that could read as data
    slot = re.search(r'<span class="morph-thumb-slot"[^>]*>', held).group(0)
    assert f'hx-get="/cell/{PUBLISHED}/morphology/preview/xy/fragment?variant=card"' in slot
    assert 'hx-trigger="load"' in slot and 'hx-swap="outerHTML"' in slot
    # Not the search body's target and history (hx-target and hx-push-url are inherited in htmx).
    assert 'hx-target="this"' in slot and 'hx-push-url="false"' in slot
    other = card(client.get(f"/cells/?q={NO_RECONSTRUCTION}").content.decode(), NO_RECONSTRUCTION)
    assert "no picture" in other and "hx-get" not in other and "<img" not in other and "<svg" not in other


def test_the_card_fragment_is_the_image_when_rendered_else_it_polls_or_stays_empty(client, monkeypatch):
    from celltypes.atlas.tasks import morphology_preview_render_task

    queued = []
    monkeypatch.setattr(morphology_preview_render_task, "delay", lambda *args: queued.append(args))
    url = f"/cell/{PUBLISHED}/morphology/preview/xy/fragment?variant=card"
    clear_previews(PUBLISHED_SWC)
    try:
        pending = client.get(url)
        assert pending.status_code == 202 and queued == [(PUBLISHED_SWC,)]
        assert f'hx-get="/cell/{PUBLISHED}/morphology/preview/xy/fragment?variant=card&amp;attempt=1"' in (
            pending.content.decode()
        )
        morphology_preview_render(swc_file_id=PUBLISHED_SWC)
        ready = client.get(url).content.decode()
        assert (
            f'<img class="morph-thumb" src="/cell/{PUBLISHED}/morphology/preview/xy.png" width="96" height="96"'
            in ready
        )
        assert "<figure" not in ready  # no caption, no nested link inside the card's own link
    finally:
        clear_previews(PUBLISHED_SWC)
    missing = client.get(f"/cell/{NO_RECONSTRUCTION}/morphology/preview/xy/fragment?variant=card")
    assert (
        missing.status_code == 404 and "hidden" in missing.content.decode() and "<img" not in missing.content.decode()
    )


def test_the_search_page_query_count_does_not_depend_on_the_previews(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for url in (f"/cells/?q={PUBLISHED}", f"/cells/?q={NO_RECONSTRUCTION}", "/cells/", "/cells/?reconstruction=full"):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        counts[url] = (len(queries), html.count("?variant=card"))
    assert counts[f"/cells/?q={PUBLISHED}"][1] == 1 and counts[f"/cells/?q={NO_RECONSTRUCTION}"][1] == 0
    assert len({queries for queries, _ in counts.values()}) == 1, counts
