"""The full mirror sync against a stub upstream whose every page is our own RMA API's answer over the demo set
(asked through Django's test client before the test changes anything), served over loopback HTTP."""

import copy
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.html import escape

from celltypes.atlas import filestore
from celltypes.atlas.models import (
    AtlasVersion,
    CellSomaLocation,
    EphysSweep,
    LabRecording,
    LoadedRows,
    NeuronReconstruction,
    ProjectionImage,
    SectionDataSet,
    Specimen,
    SpecimenTag,
    SubImage,
    WellKnownFile,
)
from celltypes.atlas.services.loaded_rows import rows_delete
from celltypes.atlas.vocabulary import LAB_RECORDING_PROVENANCE
from celltypes.sync import mirror_apply
from celltypes.sync.mirror import MirrorBusy, MirrorError, mirror_sync, run_lock
from celltypes.sync.mirror_tables import (
    LINK_TABLES,
    OWNER_FIELDS,
    ROW_TABLES,
    TABLES,
    FileOwners,
    ManyLink,
    scoped_rows,
    table_named,
)
from celltypes.sync.models import SyncRun, SyncStagedPage
from tests.factories import ProjectionImageFactory, SectionDataSetFactory, SubImageFactory
from tests.support.synthetic_nwb import write_synthetic_nwb2

pytestmark = pytest.mark.django_db
PAGE = 700  # several pages for the big tables (2,335 specimens: 4 pages)
SPECIMEN = 313860745  # Rorb-IRES2-Cre-D;Ai14-168047.01.02.01


_ANSWERS: dict[str, dict] = {}  # every page, asked once per session (each test starts from the same demo set)


def _answers(tables) -> dict[str, dict]:
    """Every page query of `tables` with our RMA API's answer over the database as it is now."""
    client = Client()
    out = {}
    for table in tables:
        start = 0
        while True:
            query = table.query(start, PAGE)
            answer = client.get("/api/v2/data/query.json", {"q": query})
            assert answer.status_code == 200, (query, answer.content[:300])
            out[query] = answer.json()
            start += PAGE
            if start >= answer.json()["total_rows"]:
                break
    return out


def _demo_answers() -> dict[str, dict]:
    if not _ANSWERS:
        _ANSWERS.update(_answers(TABLES))
    return _ANSWERS


@pytest.fixture
def demo_upstream(stub_upstream, settings, tmp_path):
    """The stub answering every page query of every mirrored table as our RMA API does over the demo set."""
    settings.CELLTYPES_DATA_DIR = tmp_path / "data"
    settings.CELLTYPES_MIRROR_PAGE_SIZE = PAGE
    settings.CELLTYPES_MIRROR_BACKOFF = 0.0
    settings.CELLTYPES_MIRROR_RETRIES = 1
    stub_upstream.queries.update(copy.deepcopy(_demo_answers()))
    return stub_upstream


def _tables() -> dict[str, list]:
    """Every mirrored table as the upstream serves it: the rows inside each table's scope (older tracings, the demo
    NWB specimens and lab uploads are not: they stay with the instance that holds them), columns of the RMA schema,
    link pairs of the roots in scope, file owners in scope."""
    out, scoped = {}, {}
    for table in ROW_TABLES:
        names = [attribute.field for attribute in table.attributes.values()]
        rows = scoped_rows(table).order_by("pk")
        out[table.name] = list(rows.values_list(*names))
        scoped[table.rma_model] = set(rows.values_list("pk", flat=True))
    for link in LINK_TABLES:
        if isinstance(link, ManyLink):
            first, second = (f.attname for f in link.through._meta.concrete_fields if not f.primary_key)
            pairs = link.through.objects.values_list(first, second)
            out[link.name] = sorted(pair for pair in pairs if pair[0] in scoped[link.rma_model])
    owners = {link.owner_field: scoped[link.rma_model] for link in LINK_TABLES if isinstance(link, FileOwners)}
    out["owners"] = [
        (pk, *(owner if owner in owners[field] else None for field, owner in zip(OWNER_FIELDS, row, strict=True)))
        for pk, *row in scoped_rows(table_named("WellKnownFile")).order_by("pk").values_list("pk", *OWNER_FIELDS)
    ]
    return out


def _empty() -> None:
    for table in reversed(ROW_TABLES):
        rows_delete(table.model, set(table.model.objects.values_list("pk", flat=True)))


def _pages_of(stub) -> int:
    return len(stub.queries)


def test_sync_into_an_empty_database_gives_the_upstreams_tables(demo_upstream):
    upstream = _tables()
    # the Cell Types scope: 2,333 cells (the demo set's 2 NWB specimens have no Cell Types product: outside it)
    assert len(upstream["Specimen"]) == 2333 and len(upstream["WellKnownFile"]) == 3037
    _empty()
    assert Specimen.objects.count() == 0
    report = mirror_sync(upstream=demo_upstream.url)
    assert report.pages_fetched == _pages_of(demo_upstream) == len(demo_upstream.requests)
    assert _tables() == upstream
    assert report.changes["Specimen"] == {"rows": 2333, "new": 2333, "changed": 0, "retired": 0}
    run = SyncRun.objects.get(id=report.run_id)
    assert (run.status, run.pages_staged, run.pages_total) == ("complete", report.pages_fetched, report.pages_fetched)
    assert not SyncStagedPage.objects.exists()  # dropped with the apply
    # files stay lazy: records only, no bytes held, no size or digest claimed
    assert not WellKnownFile.objects.exclude(size=None).exists()
    # the loader's ledger lists none of the mirrored rows (a later load_demo deletes none of them)
    assert LoadedRows.objects.get(table="specimens").keys == []


def test_image_rows_on_the_upstream_arrive_equal(demo_upstream):
    # the demo set holds no image records: synthetic ones (factories) on real demo cells, one with Allen's null flags
    data_set = SectionDataSetFactory(specimen_id=SPECIMEN, failed=True, expression=True)
    planes = [SubImageFactory(data_set=data_set, specimen_id=SPECIMEN, section_number=n) for n in (1, 2, 3)]
    ProjectionImageFactory(specimen_id=SPECIMEN, data_set=data_set, annotated=True)
    ProjectionImageFactory(specimen_id=CellSomaLocation.objects.exclude(specimen_id=SPECIMEN).first().specimen_id)
    images = [t for t in ROW_TABLES if t.model in (SectionDataSet, SubImage, ProjectionImage)]
    answers = _answers(images)
    null_flags = next(q for q in answers if q.startswith("model::SubImage"))
    answers[null_flags]["msg"][0].update(failed=None, annotated=None)  # Allen leaves these flags null on many rows
    demo_upstream.queries.update(answers)
    upstream = _tables()
    assert [len(upstream[t.name]) for t in images] == [1, 3, 2]
    _empty()
    assert not SubImage.objects.exists()
    report = mirror_sync(upstream=demo_upstream.url)
    assert _tables() == upstream
    assert report.changes["SubImage"] == {"rows": 3, "new": 3, "changed": 0, "retired": 0}
    assert SubImage.objects.get(id=planes[0].id).failed is False  # null: the default
    assert list(
        SubImage.objects.filter(specimen_id=SPECIMEN).order_by("section_number").values_list("id", flat=True)
    ) == [p.id for p in planes]


def test_a_mirror_never_retires_nor_overwrites_a_labs_own_upload(demo_upstream, tmp_path, client):
    # a lab's SYNTHETIC NWB recording imported here: its specimen, sweeps and file are the lab's, never Allen's
    call_command("import_nwb", str(write_synthetic_nwb2(tmp_path / "synthetic_lab_cell.nwb")), "--name", "lab cell")
    lab = LabRecording.objects.get()
    sweeps = list(EphysSweep.objects.filter(specimen_id=lab.specimen_id).order_by("id").values())
    report = mirror_sync(upstream=demo_upstream.url)
    assert report.changes["Specimen"]["retired"] == 0 and report.changes["EphysSweep"]["retired"] == 0
    assert LabRecording.objects.get() == lab and Specimen.objects.get(id=lab.specimen_id).name == "lab cell"
    assert list(EphysSweep.objects.filter(specimen_id=lab.specimen_id).order_by("id").values()) == sweeps
    assert filestore.sha256_of(filestore.lab_recording_path(lab.specimen_id)) == lab.sha256
    page = client.get(f"/cell/{lab.specimen_id}/ephys/")
    assert page.status_code == 200 and escape(LAB_RECORDING_PROVENANCE) in page.content.decode()
    assert client.get(f"/cell/{lab.specimen_id}/ephys/sweep/{sweeps[-1]['sweep_number']}.json").status_code == 200
    # an upstream row with a lab upload's id is refused, naming it; nothing is changed
    pages = next(q for q in demo_upstream.queries if q.startswith("model::EphysSweep,"))
    demo_upstream.queries[pages]["msg"][0]["id"] = sweeps[0]["id"]
    with pytest.raises(MirrorError, match=f"EphysSweep {sweeps[0]['id']} would replace a lab's own upload"):
        mirror_sync(upstream=demo_upstream.url)
    assert list(EphysSweep.objects.filter(specimen_id=lab.specimen_id).order_by("id").values()) == sweeps


def test_a_changed_record_is_replaced_a_removed_one_retired_and_a_second_run_changes_nothing(
    demo_upstream, django_capture_on_commit_callbacks
):
    upstream = _tables()
    Specimen.objects.filter(id=SPECIMEN).update(name="renamed here")
    extra = SpecimenTag.objects.create(id=77, name="dendrite type - invented here")
    Specimen.objects.get(id=SPECIMEN).specimen_tags.add(extra)
    CellSomaLocation.objects.create(id=78, specimen_id=SPECIMEN, x=1.0, y=2.0, z=3.0)
    moved = WellKnownFile.objects.filter(neuronal_model__isnull=False).first()
    WellKnownFile.objects.filter(id=moved.id).update(path="/elsewhere/old.json", size=3, sha256="0" * 64)
    filestore.store_well_known_file(moved.id, b"old")
    version = AtlasVersion.objects.get().version

    with django_capture_on_commit_callbacks(execute=True):
        report = mirror_sync(upstream=demo_upstream.url)
    assert Specimen.objects.get(id=SPECIMEN).name == "Rorb-IRES2-Cre-D;Ai14-168047.01.02.01"
    assert not SpecimenTag.objects.filter(id=77).exists() and not CellSomaLocation.objects.filter(id=78).exists()
    assert report.changes["Specimen"]["changed"] == 1
    assert report.changes["SpecimenTag"]["retired"] == 1 and report.changes["CellSomaLocation"]["retired"] == 1
    # outside the scope (never served, so never retired): the older tracings, the demo's two NWB specimens
    assert report.changes["NeuronReconstruction"]["retired"] == 0
    assert NeuronReconstruction.objects.filter(superseded=True).count() == 68
    outside = sorted(Specimen.objects.filter(products__isnull=True).values_list("id", flat=True))
    assert len(outside) == 2
    assert LoadedRows.objects.get(table="specimens").keys == outside  # the loader's still: a later load may drop them
    assert _tables() == upstream
    # the file whose path changed upstream: path back, held bytes and their size/digest dropped on commit
    moved.refresh_from_db()
    assert (moved.size, moved.sha256) == (None, None) and not filestore.has_well_known_file(moved.id)
    assert AtlasVersion.objects.get().version == version + 1

    again = mirror_sync(upstream=demo_upstream.url)
    assert again.changed == 0 and not again.version_bumped
    assert AtlasVersion.objects.get().version == version + 1


def test_a_failure_midway_keeps_the_previous_state_and_the_rerun_fetches_only_the_rest(demo_upstream):
    Specimen.objects.filter(id=SPECIMEN).update(name="renamed here")
    failing = ROW_TABLES[-1].query(PAGE, PAGE)  # ApiCellTypesSpecimenDetail page 1
    answer = demo_upstream.queries.pop(failing)

    with pytest.raises(MirrorError, match=r"ApiCellTypesSpecimenDetail page 1: .*HTTP 400"):
        mirror_sync(upstream=demo_upstream.url)
    run = SyncRun.objects.get()
    staged = SyncStagedPage.objects.filter(run=run).count()
    assert run.status == "failed" and "ApiCellTypesSpecimenDetail page 1" in run.error
    assert 0 < staged == run.pages_staged < _pages_of(demo_upstream) + 1
    assert Specimen.objects.get(id=SPECIMEN).name == "renamed here"  # the live tables are untouched

    demo_upstream.queries[failing] = answer
    demo_upstream.requests.clear()
    report = mirror_sync(upstream=demo_upstream.url)
    assert report.resumed and report.run_id == run.id
    assert report.pages_skipped == staged
    assert len(demo_upstream.requests) == report.pages_fetched == _pages_of(demo_upstream) - staged
    assert Specimen.objects.get(id=SPECIMEN).name == "Rorb-IRES2-Cre-D;Ai14-168047.01.02.01"


def test_a_crash_inside_the_apply_rolls_it_all_back_and_the_rerun_applies_without_fetching(demo_upstream, monkeypatch):
    Specimen.objects.filter(id=SPECIMEN).update(name="renamed here")
    CellSomaLocation.objects.create(id=78, specimen_id=SPECIMEN, x=1.0, y=2.0, z=3.0)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill would: after the rows were upserted, before the links and retiring

    monkeypatch.setattr(mirror_apply, "_many_link_set", crash)
    with pytest.raises(KeyboardInterrupt):
        mirror_sync(upstream=demo_upstream.url)
    assert Specimen.objects.get(id=SPECIMEN).name == "renamed here"
    assert CellSomaLocation.objects.filter(id=78).exists()
    assert SyncRun.objects.get().status == "failed"

    monkeypatch.undo()
    demo_upstream.requests.clear()
    report = mirror_sync(upstream=demo_upstream.url)
    assert (report.pages_fetched, len(demo_upstream.requests)) == (0, 0)
    assert Specimen.objects.get(id=SPECIMEN).name == "Rorb-IRES2-Cre-D;Ai14-168047.01.02.01"
    assert not CellSomaLocation.objects.filter(id=78).exists()


def test_garbage_and_unmappable_records_are_errors_naming_table_page_and_record(demo_upstream):
    query = ROW_TABLES[0].query(0, PAGE)  # Organism page 0
    demo_upstream.queries[query] = {**demo_upstream.queries[query], "msg": [{"id": "one", "name": "x"}]}
    demo_upstream.queries[query]["total_rows"] = 1
    with pytest.raises(MirrorError, match=r"Organism page 0, record 0 \(id 'one'\): 'id' is not a valid"):
        mirror_sync(upstream=demo_upstream.url)
    demo_upstream.queries[query] = {"rows": []}
    with pytest.raises(MirrorError, match=r"Organism page 0: .* without Allen's envelope"):
        mirror_sync(upstream=demo_upstream.url)


def test_a_second_sync_while_one_runs_is_refused(demo_upstream):
    with run_lock():
        with pytest.raises(MirrorBusy, match="a full sync is already running"):
            mirror_sync(upstream=demo_upstream.url)
        with pytest.raises(CommandError) as refused:
            call_command("sync_upstream", "--all", upstream=demo_upstream.url, stdout=io.StringIO())
        assert refused.value.returncode == 3


def test_the_command_prints_progress_and_a_summary(demo_upstream):
    out = io.StringIO()
    call_command("sync_upstream", "--all", upstream=demo_upstream.url, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"mirror sync of {demo_upstream.url}: run {SyncRun.objects.get().id}, {PAGE} rows per page"
    assert any(line.split()[0] == "Specimen" and line.split()[-1] == "2333/2333" for line in lines)
    assert any(line.split()[:2] == ["Specimen", "2333"] for line in lines)
    assert lines[-1].endswith("rows changed") or lines[-1].endswith("nothing changed")


def test_the_row_caps_stop_a_run_before_it_fetches_too_much(demo_upstream, settings):
    settings.CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE = 1000
    with pytest.raises(MirrorError, match=r"lists 2,33\d rows, more than CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE=1,000"):
        mirror_sync(upstream=demo_upstream.url)
    settings.CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE = 10**6
    settings.CELLTYPES_MIRROR_MAX_PAGES = 10
    with pytest.raises(MirrorError, match="more than CELLTYPES_MIRROR_MAX_PAGES=10 pages"):
        mirror_sync(upstream=demo_upstream.url)


def test_an_upstream_too_slow_is_asked_again_then_given_up_on_naming_the_page(demo_upstream, settings):
    settings.CELLTYPES_UPSTREAM_TIMEOUT = 0.2
    demo_upstream.delay = 0.5
    with pytest.raises(MirrorError, match=r"page 0: .*did not answer within the timeout \(gave up after 1 retries\)"):
        mirror_sync(upstream=demo_upstream.url, concurrency=1)
    assert len(demo_upstream.requests) == 2  # the first page, asked twice
    assert SyncRun.objects.get().status == "failed" and not SyncStagedPage.objects.exists()


def test_an_unfinished_run_too_old_or_of_another_page_size_is_abandoned_not_continued(demo_upstream, settings):
    failing = ROW_TABLES[-1].query(PAGE, PAGE)
    answer = demo_upstream.queries.pop(failing)
    with pytest.raises(MirrorError):
        mirror_sync(upstream=demo_upstream.url)
    demo_upstream.queries[failing] = answer
    first = SyncRun.objects.get()
    settings.CELLTYPES_MIRROR_RESUME_HOURS = 0.0
    report = mirror_sync(upstream=demo_upstream.url)
    assert not report.resumed and report.pages_skipped == 0 and report.run_id != first.id
    first.refresh_from_db()
    assert first.status == "abandoned" and first.finished_at is not None


def test_local_rows_holding_an_upstream_rows_unique_name_or_sweep_number_give_way(demo_upstream):
    upstream = _tables()
    tag = SpecimenTag.objects.order_by("id").first()
    SpecimenTag.objects.filter(id=tag.id).update(name="renamed here")
    SpecimenTag.objects.create(id=79, name=tag.name)  # a stand-in holding the upstream tag's name
    sweep = EphysSweep.objects.order_by("id").first()
    EphysSweep.objects.filter(id=sweep.id).update(sweep_number=9999)
    EphysSweep.objects.create(id=80, specimen_id=sweep.specimen_id, sweep_number=sweep.sweep_number)

    report = mirror_sync(upstream=demo_upstream.url)
    assert SpecimenTag.objects.get(id=tag.id).name == tag.name and not SpecimenTag.objects.filter(id=79).exists()
    assert EphysSweep.objects.get(id=sweep.id).sweep_number == sweep.sweep_number
    assert not EphysSweep.objects.filter(id=80).exists()
    assert report.changes["SpecimenTag"] == {"rows": 6, "new": 0, "changed": 1, "retired": 1}
    assert _tables() == upstream


def test_load_demo_after_a_mirror_deletes_none_of_its_rows_and_the_next_mirror_converges(demo_upstream):
    upstream = _tables()
    LoadedRows.objects.all().delete()  # a database the loader never wrote: it would count every row as its own
    mirror_sync(upstream=demo_upstream.url)
    CellSomaLocation.objects.create(id=78, specimen_id=SPECIMEN, x=1.0)  # as if the mirror had brought it
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    # the loader removed none of the mirror's rows (the older tracings, outside the scope, were never retired)
    assert NeuronReconstruction.objects.filter(superseded=True).count() == 68
    assert CellSomaLocation.objects.filter(id=78).exists()
    report = mirror_sync(upstream=demo_upstream.url)
    assert (report.changes["NeuronReconstruction"]["retired"], report.changes["CellSomaLocation"]["retired"]) == (0, 1)
    assert _tables() == upstream


def test_the_commands_mirror_flags_go_with_all_and_only_with_it():
    with pytest.raises(CommandError, match="--all syncs every table already"):
        call_command("sync_upstream", "--all", "--file", "1", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--restart goes with --all"):
        call_command("sync_upstream", "--restart", "--file", "1", stdout=io.StringIO())
