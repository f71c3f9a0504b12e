"""The cell page and its tabs, against the real demo set."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, NeuronalModel, Specimen

pytestmark = pytest.mark.django_db

VISP_L4_CELL = 313862022  # Scnn1a-Tg2-Cre;Ai14-167081.03.02.01: VISp layer 4, spiny, dendrite-only reconstruction
MODELLED_CELL = 464198958  # Sst-IRES-Cre, 6 neuronal models, a reconstruction with SWC + marker files
NO_RECONSTRUCTION_CELL = 525011903


def text(html: str) -> str:
    """The visible text of the main region, whitespace collapsed."""
    main = re.search(r"<main>(.*)</main>", html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def fact(html: str, key: str) -> str:
    match = re.search(rf'data-fact="{key}"><dt>[^<]*</dt><dd>([^<]*)</dd>', html)
    return match.group(1) if match else ""


def test_cell_page_shows_the_specimen_facts(client):
    response = client.get(f"/cell/{VISP_L4_CELL}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Scnn1a-Tg2-Cre;Ai14-167081.03.02.01 · cell 313862022 · celltypes</title>" in html
    assert fact(html, "layer") == "4"
    assert fact(html, "dendrite_type") == "spiny"
    assert fact(html, "area") == "Primary visual area (VISp)"
    assert fact(html, "structure") == "Primary visual area, layer 4 (VISp4)"  # Allen's quotes stripped
    assert fact(html, "species") == "Mus musculus"
    assert fact(html, "hemisphere") == "right"
    assert fact(html, "line") == "Scnn1a-Tg2-Cre"
    assert fact(html, "reporter") == "positive"
    assert fact(html, "apical") == "intact"
    assert fact(html, "depth").startswith("0.462")
    assert not fact(html, "disease_state")  # mouse


def test_human_cell_page_shows_donor_and_disease_state(client):
    human = ApiCellTypesSpecimenDetail.objects.filter(donor_disease_state="tumor").order_by("specimen_id").first()
    html = client.get(f"/cell/{human.specimen_id}/").content.decode()
    assert fact(html, "disease_state") == "tumor"
    assert fact(html, "species") == "Homo Sapiens"
    assert fact(html, "age") == human.donor_age
    assert fact(html, "sex") == human.donor_sex
    assert '"' not in fact(html, "structure")


@pytest.mark.parametrize(
    ("suffix", "tab"),
    [("", "overview"), ("ephys/", "ephys"), ("morphology/", "morphology"), ("models/", "models")],
)
def test_each_tab_has_its_own_url(client, suffix, tab):
    html = client.get(f"/cell/{MODELLED_CELL}/{suffix}").content.decode()
    assert f'data-tab="{tab}" aria-current="page"' in html
    assert html.count('aria-current="page"') == 1


def test_ephys_tab_shows_the_feature_record_and_the_sweeps(client):
    specimen = Specimen.objects.get(id=MODELLED_CELL)
    html = client.get(f"/cell/{MODELLED_CELL}/ephys/").content.decode()
    features = specimen.ephys_features
    assert 'data-feature="threshold_i_long_square"' in html
    assert "Rheobase (threshold current, long square)" in html
    assert re.search(r'data-feature="vrest">.*?<td class="numeric">([^<]+)</td>', html, re.S).group(1) == (
        f"{features.vrest:.4g}"
    )
    sweeps = specimen.ephys_sweeps.order_by("sweep_number")
    assert len(re.findall(r"data-sweep=", html)) == sweeps.count() > 0
    first = sweeps.first()
    box = re.search(rf'data-sweep="{first.sweep_number}".*?</button>', html, re.S).group(0)
    assert f'<span class="sweep-number">{first.sweep_number}</span>' in box
    assert 'title="No samples of this sweep are held here"' in box  # this copy holds no recording of the cell


def test_morphology_tab_lists_features_and_reconstruction_files(client):
    html = client.get(f"/cell/{MODELLED_CELL}/morphology/").content.decode()
    assert 'data-feature="total_length"' in html
    assert 'data-file-type="3DNeuronReconstruction"' in html
    assert 'data-file-type="3DNeuronMarker"' in html
    for file_id in re.findall(r'href="/api/v2/well_known_file_download/(\d+)"', html):
        assert int(file_id) > 0
    assert len(re.findall(r'href="/api/v2/well_known_file_download/\d+"', html)) == 2


def test_morphology_tab_says_so_when_there_is_no_reconstruction(client):
    html = client.get(f"/cell/{NO_RECONSTRUCTION_CELL}/morphology/").content.decode()
    assert "data-no-reconstruction" in html
    assert "No reconstruction" in text(html)


def test_models_tab_lists_models_with_download_links_and_table_counts(client):
    html = client.get(f"/cell/{MODELLED_CELL}/models/").content.decode()
    models = NeuronalModel.objects.filter(specimen_id=MODELLED_CELL)
    assert models.count() == 6
    for model in models:
        assert f'href="/neuronal_model/download/{model.id}"' in html
        assert model.neuronal_model_template.name in html
    assert re.search(r'data-count="m_glif">(\d+)<', html)


def test_a_recorded_specimen_outside_the_cell_table_still_renders(client):
    table = ApiCellTypesSpecimenDetail.objects.values("specimen_id")
    outside = Specimen.objects.exclude(id__in=table).order_by("id").first()
    assert outside is not None
    for suffix in ("", "ephys/", "morphology/", "models/"):
        response = client.get(f"/cell/{outside.id}/{suffix}")
        assert response.status_code == 200, suffix
        assert outside.name in response.content.decode()
    ephys = client.get(f"/cell/{outside.id}/ephys/").content.decode()
    assert len(re.findall(r"data-sweep=", ephys)) == outside.ephys_sweeps.count() > 0
    assert "/api/v2/well_known_file_download/" in ephys  # its NWB file


def test_back_link_keeps_the_search_filters(client):
    html = client.get(f"/cell/{VISP_L4_CELL}/?back=species%3Dmouse%26dendrite%3Dspiny%26page%3D3").content.decode()
    assert 'href="/cells/?species=mouse&amp;dendrite=spiny&amp;page=3" data-back' in html
    # the tabs carry it on
    assert f'href="/cell/{VISP_L4_CELL}/ephys/?back=species%3Dmouse%26dendrite%3Dspiny%26page%3D3"' in html


def test_back_link_falls_back_to_the_referer_and_ignores_other_sites(client):
    html = client.get(f"/cell/{VISP_L4_CELL}/", HTTP_REFERER="http://testserver/cells/?species=mouse").content.decode()
    assert 'href="/cells/?species=mouse" data-back' in html
    html = client.get(
        f"/cell/{VISP_L4_CELL}/", HTTP_REFERER="http://evil.example/cells/?species=mouse"
    ).content.decode()
    assert 'href="/cells/" data-back' in html


def test_back_parameter_is_cleaned(client):
    html = client.get(f"/cell/{VISP_L4_CELL}/?back=//evil.example/%22%3E%3Cscript%3E&species=human").content.decode()
    assert 'href="/cells/" data-back' in html
    assert "evil" not in html


def test_back_parameter_with_nul_bytes_is_cleaned(client):
    response = client.get(f"/cell/{VISP_L4_CELL}/?back=q%3DSst%2500%26species%3Dmouse%00")
    assert response.status_code == 200


def test_search_results_link_to_cells_with_the_search_to_go_back_to(client):
    html = client.get("/cells/?species=human&dendrite=aspiny").content.decode()
    assert re.search(r'href="/cell/\d+/\?back=species%3Dhuman%26dendrite%3Daspiny"', html)


def test_htmx_tab_switch_gets_only_the_tab_fragment(client):
    response = client.get(f"/cell/{MODELLED_CELL}/models/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="cell-tab"')
    assert "<html" not in html
    assert "/neuronal_model/download/" in html


@pytest.mark.parametrize("specimen_id", ["1", "999999999999", "99999999999999999999999999"])
def test_unknown_cell_gives_a_friendly_404_with_a_search_form(client, specimen_id):
    response = client.get(f"/cell/{specimen_id}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<form class="search-box" role="search" action="/cells/"' in html
    assert 'name="q"' in html


@override_settings(DEBUG=False)
def test_404_page_renders_for_any_unknown_url(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We could not find that page" in response.content
    assert b'action="/cells/"' in response.content


# Five for the cell (its detail row, specimen, tags, soma location, donor lines) and then: the overview's sixth,
# whether a recording is held (its trace thumbnail is asked for, else "no recording held"); the ephys tab's sweeps,
# files, features, held windows and whether the specimen is a lab's own upload; the morphology tab's
# reconstructions, their files, the computed features and Allen's images of the cell (projections, stack);
# models/: the models, their files, the recorded sweeps, the cell's NWB record (is its recording held?) and the
# chosen model's NeuronalModelRun metrics. Each budget is the count measured, so one more query fails the test.
@pytest.mark.parametrize(("suffix", "budget"), [("", 6), ("ephys/", 10), ("morphology/", 10), ("models/", 10)])
def test_cell_pages_take_a_fixed_number_of_queries(client, django_assert_max_num_queries, suffix, budget):
    client.get(f"/cell/{MODELLED_CELL}/{suffix}")  # the morphology tab computes missing features once, then reads
    with django_assert_max_num_queries(budget):
        assert client.get(f"/cell/{MODELLED_CELL}/{suffix}").status_code == 200
