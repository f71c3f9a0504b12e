"""Upstream sync and fetch-through against the stub upstream, which answers with Allen's recorded records for
model 472451419. Each test gets its own empty file store; the database is rolled back after each test."""

import base64
import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from celltypes.atlas import filestore
from celltypes.atlas.models import EphysResult, EphysSweep, NeuronalModelRun, Specimen, WellKnownFile
from celltypes.sync import file_fetch
from celltypes.sync.client import UpstreamClient, UpstreamError
from celltypes.sync.services import SyncError, neuronal_model_sync, well_known_file_fetch

pytestmark = pytest.mark.django_db
MODEL = 472451419
SPECIMEN = 386049446


@pytest.fixture(autouse=True)
def empty_store(settings, tmp_path):
    settings.CELLTYPES_DATA_DIR = tmp_path / "data"
    settings.CELLTYPES_UPSTREAM = ""
    return settings.CELLTYPES_DATA_DIR


def test_sync_records_allens_files_and_fetches_what_the_sdk_downloads(allen_model_upstream, empty_store):
    minted_result = Specimen.objects.get(id=SPECIMEN).ephys_result_id
    report = neuronal_model_sync(neuronal_model_id=MODEL, client=UpstreamClient(allen_model_upstream.url))

    mod = WellKnownFile.objects.get(id=395337293)
    assert (mod.neuronal_model_template_id, mod.well_known_file_type.name, mod.file_name) == (
        329230710,
        "BiophysicalModelDescription",
        "SK.mod",
    )
    # Allen's ids replace the loader's stand-ins: the fit's minted id and the specimen's minted ephys result.
    assert list(WellKnownFile.objects.filter(neuronal_model_id=MODEL).values_list("id", flat=True)) == [497235805]
    assert Specimen.objects.get(id=SPECIMEN).ephys_result_id == 386049444
    assert not EphysResult.objects.filter(id=minted_result).exists()
    assert f"ephys result {minted_result} -> 386049444 (specimen {SPECIMEN})" in report.replaced
    assert any(item.startswith("well-known file 12793581734 (472451419_fit.json)") for item in report.replaced)
    nwb = WellKnownFile.objects.get(id=491198851)
    assert (nwb.ephys_result_id, nwb.attachable_id, nwb.file_name) == (386049444, 386049444, "386049444_ephys.nwb")
    assert WellKnownFile.objects.filter(ephys_result_id=386049444).count() == 5
    assert WellKnownFile.objects.get(id=496607103).neuron_reconstruction_id == 491459171
    sweep = EphysSweep.objects.get(id=396429050)
    assert (sweep.specimen_id, sweep.sweep_number, sweep.stimulus_absolute_amplitude) == (
        SPECIMEN,
        42,
        110.000002162547,
    )

    # Fetched: what BiophysicalApi.cache_data downloads (NMODL, fit, SWC, marker, NWB), not thumbnails.
    assert sorted(report.fetched) == [395337293, 491198851, 491459173, 496607103, 497235805]
    assert report.fetch_errors == {}
    held = sorted(int(p.name) for p in (empty_store / "well_known_files").iterdir())
    assert held == sorted(report.fetched)
    for file_id in report.fetched:
        body = allen_model_upstream.files[file_id]
        row = WellKnownFile.objects.get(id=file_id)
        assert (row.size, row.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert report.bytes_fetched == sum(len(allen_model_upstream.files[i]) for i in report.fetched)

    # A second sync changes nothing and fetches nothing.
    again = neuronal_model_sync(neuronal_model_id=MODEL, client=UpstreamClient(allen_model_upstream.url))
    assert (again.fetched, again.replaced, again.files_recorded) == ([], [], report.files_recorded)


def test_a_file_cut_off_mid_download_leaves_nothing_behind(allen_model_upstream, empty_store):
    allen_model_upstream.cut_short.add(491198851)
    report = neuronal_model_sync(neuronal_model_id=MODEL, client=UpstreamClient(allen_model_upstream.url))
    assert set(report.fetch_errors) == {491198851}
    assert "well_known_file_download/491198851" in report.fetch_errors[491198851]
    assert 491198851 not in report.fetched and len(report.fetched) == 4
    names = [p.name for p in (empty_store / "well_known_files").iterdir()]
    assert "491198851" not in names and not [n for n in names if n.endswith(".part")]
    assert WellKnownFile.objects.get(id=491198851).size is None  # recorded, not held: fetched when asked for


def test_malformed_or_unknown_upstream_records_change_nothing(allen_model_upstream):
    client = UpstreamClient(allen_model_upstream.url)
    before = (WellKnownFile.objects.count(), EphysSweep.objects.count(), EphysResult.objects.count())
    with pytest.raises(UpstreamError, match="refused the query"):
        neuronal_model_sync(neuronal_model_id=497232312, client=client)
    (query,) = allen_model_upstream.queries
    broken = json.loads(json.dumps(allen_model_upstream.queries[query]))
    broken["msg"][0]["specimen"]["neuron_reconstructions"][0]["well_known_files"][1].pop("path")
    allen_model_upstream.queries[query] = broken
    with pytest.raises(SyncError, match="malformed: .*well_known_file 496607103: no path"):
        neuronal_model_sync(neuronal_model_id=MODEL, client=client)
    broken["msg"][0]["specimen"]["neuron_reconstructions"][0]["well_known_files"][1]["path"] = "/x/m.swc"
    broken["msg"][0]["specimen"]["id"] = 123
    with pytest.raises(SyncError, match="specimen 123 of neuronal model 472451419 is not in the local atlas"):
        neuronal_model_sync(neuronal_model_id=MODEL, client=client)
    assert (WellKnownFile.objects.count(), EphysSweep.objects.count(), EphysResult.objects.count()) == before
    with pytest.raises(SyncError, match="no well-known file 42 is recorded here"):
        well_known_file_fetch(file_id=42, client=client)


def test_download_fetches_through_once_then_serves_locally(client, settings, allen_model_upstream, empty_store):
    url = "/api/v2/well_known_file_download/491459171"
    assert client.get(url).status_code == 404  # a reconstruction id, not a file id
    url = "/api/v2/well_known_file_download/491459173"  # recorded by the demo set, not held
    offline = client.get(url)
    assert offline.status_code == 404
    assert "no upstream is configured" in offline.json()["msg"]

    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    first = client.get(url)
    assert first.status_code == 200
    assert b"".join(first.streaming_content) == allen_model_upstream.files[491459173]
    assert first["Content-Disposition"] == 'attachment; filename="Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc"'
    second = client.get(url, HTTP_RANGE="bytes=0-6")
    assert (second.status_code, second.getvalue()) == (206, allen_model_upstream.files[491459173][:7])
    asked = [path for path in allen_model_upstream.requests if path.endswith("/491459173")]
    assert len(asked) == 1


def test_download_when_the_upstream_fails(client, settings, stub_upstream):
    url = "/api/v2/well_known_file_download/491459173"
    settings.CELLTYPES_UPSTREAM = "http://127.0.0.1:9"
    down = client.get(url)
    assert down.status_code == 502
    assert down.json()["success"] is False
    assert "could not be reached" in down.json()["msg"] and "491459173" in down.json()["msg"]
    settings.CELLTYPES_UPSTREAM = stub_upstream.url
    settings.CELLTYPES_UPSTREAM_TIMEOUT = 0.2
    stub_upstream.delay = 1.0
    slow = client.get(url)
    assert slow.status_code == 504 and "did not answer within the timeout" in slow.json()["msg"]
    stub_upstream.delay = 0
    missing = client.get(url)
    assert missing.status_code == 502 and "answered HTTP 404" in missing.json()["msg"]
    assert not (filestore.data_dir() / "well_known_files").exists() or not any(
        (filestore.data_dir() / "well_known_files").iterdir()
    )


def test_model_zip_carries_the_templates_nmodl_files(client, allen_model_upstream):
    neuronal_model_sync(neuronal_model_id=MODEL, client=UpstreamClient(allen_model_upstream.url))
    response = client.get(f"/neuronal_model/download/{MODEL}")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.read("modfiles/SK.mod") == allen_model_upstream.files[395337293]
    assert archive.read(f"{MODEL}_fit.json") == allen_model_upstream.files[497235805]
    assert json.loads(archive.read("manifest.json"))["runs"] == [{"sweeps": [42]}]


def test_sync_upstream_command(allen_model_upstream, settings):
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    out = io.StringIO()
    call_command("sync_upstream", "--neuronal-model", str(MODEL), "--no-files", stdout=out)
    assert out.getvalue().startswith(f"neuronal model {MODEL}: 9 file records, 1 sweeps; fetched 0 files")
    call_command("sync_upstream", "--file", "395337293", stdout=out)
    assert f"well-known file 395337293: {len(allen_model_upstream.files[395337293])} bytes" in out.getvalue()
    with pytest.raises(CommandError, match="neuronal model 1: .*refused the query"):
        call_command("sync_upstream", "--neuronal-model", "1")
    with pytest.raises(CommandError, match="name at least one"):
        call_command("sync_upstream")
    # Every biophysical model held here: the stub answers for one, the other five are named as not synced.
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("sync_upstream", "--all-biophysical", "--no-files", stdout=out)
    assert out.getvalue().startswith(f"neuronal model {MODEL}: 9 file records")
    not_synced = str(failed.value).splitlines()[1:]
    assert [line.split(":")[0] for line in not_synced] == [
        "neuronal model 472450023",
        "neuronal model 483108201",
        "neuronal model 491766131",
        "neuronal model 497232312",
        "neuronal model 497233223",
    ]
    settings.CELLTYPES_UPSTREAM = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="could not be reached") as down:
        call_command("sync_upstream", "--all-biophysical")
    assert "not synced" not in str(down.value)  # stopped at the first model: the others would fail alike
    settings.CELLTYPES_UPSTREAM = ""
    with pytest.raises(CommandError, match="no upstream is configured"):
        call_command("sync_upstream", "--file", "395337293")


def test_sync_task_records_then_queues_one_fetch_task_per_file(
    allen_model_upstream, settings, idle_redis_url, celery_broker
):
    import json

    import redis

    from celltypes.sync.tasks import neuronal_model_sync_task, well_known_file_fetch_task

    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    with celery_broker(idle_redis_url):
        summary = neuronal_model_sync_task.apply(args=[MODEL]).get()
    assert summary.startswith(
        f"neuronal model {MODEL}: 9 file records, 1 sweeps; fetched 0 files (0 bytes); queued 5 files for the worker"
    )
    queue = redis.Redis.from_url(idle_redis_url)
    messages = [json.loads(message) for message in queue.lrange("celery", 0, -1)]
    queue.delete("celery")
    queued = sorted(json.loads(base64.b64decode(m["body"]))[0][0] for m in messages)
    assert {m["headers"]["task"] for m in messages} == {"sync.well_known_file_fetch"}
    assert queued == [395337293, 491198851, 491459173, 496607103, 497235805]

    swc = allen_model_upstream.files[491459173]
    assert well_known_file_fetch_task.apply(args=[491459173]).get() == f"well-known file 491459173: {len(swc)} bytes"
    with pytest.raises(UpstreamError, match="487660477 answered HTTP 404"):  # a thumbnail the stub does not serve
        well_known_file_fetch_task.apply(args=[487660477])
    assert WellKnownFile.objects.get(id=487660477).size is None


def test_a_file_held_by_the_time_the_lock_is_ours_is_not_fetched_again(allen_model_upstream):
    filestore.store_well_known_file(491459173, b"fetched by a concurrent request")
    stored = well_known_file_fetch(file_id=491459173, client=UpstreamClient(allen_model_upstream.url))
    assert stored.size == len(b"fetched by a concurrent request")
    assert allen_model_upstream.requests == []


def test_the_per_file_lock_serialises_fetches():
    import threading
    import time

    order = []

    def hold(name: str) -> None:
        with filestore.well_known_file_lock(491459173):
            order.append(f"{name} in")
            time.sleep(0.2)
            order.append(f"{name} out")

    threads = [threading.Thread(target=hold, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(order) == 4
    assert order[0][0] == order[1][0] and order[2][0] == order[3][0]  # never interleaved


def test_load_demo_after_a_sync_then_sync_again_converge(allen_model_upstream):
    from celltypes.atlas.services.loading import demo_load

    client = UpstreamClient(allen_model_upstream.url)
    neuronal_model_sync(neuronal_model_id=MODEL, client=client, fetch_files=False)
    synced = sorted(WellKnownFile.objects.values_list("id", "path", "ephys_result_id", "neuronal_model_id"))
    demo_load()  # puts the demo set's stand-ins back (minted fit id and ephys result) without failing
    assert Specimen.objects.get(id=SPECIMEN).ephys_result_id != 386049444
    neuronal_model_sync(neuronal_model_id=MODEL, client=client, fetch_files=False)
    assert sorted(WellKnownFile.objects.values_list("id", "path", "ephys_result_id", "neuronal_model_id")) == synced
    assert Specimen.objects.get(id=SPECIMEN).ephys_result_id == 386049444


def test_an_nwb_fetched_through_is_served_in_allens_nwb1_layout_converted_once(
    client, settings, allen_model_upstream, empty_store
):
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    first = client.get("/api/v2/well_known_file_download/491198851")
    assert first.status_code == 200
    body = b"".join(first.streaming_content)
    assert body[:8] == b"\x89HDF\r\n\x1a\n" and body != allen_model_upstream.files[491198851]  # converted
    digest = hashlib.sha256(allen_model_upstream.files[491198851]).hexdigest()
    assert [p.name for p in (empty_store / "derived" / "nwb1").iterdir()] == [f"491198851-{digest[:16]}.nwb"]
    second = client.get("/api/v2/well_known_file_download/491198851")
    assert b"".join(second.streaming_content) == body
    assert len([p for p in allen_model_upstream.requests if p.endswith("/491198851")]) == 1


def test_models_runs_published_metrics_are_recorded_when_the_record_carries_them(allen_model_upstream):
    (query,) = allen_model_upstream.queries
    record = allen_model_upstream.queries[query]["msg"][0]
    # Allen's recorded response holds no runs: two SYNTHETIC ones, one carrying both metrics, one neither
    record["neuronal_model_runs"] = [
        {"id": 991000001, "name": "synthetic run", "explained_variance_ratio": 0.71, "rheobase_feature_average": 1.9},
        {"id": 991000002, "explained_variance_ratio": None},
    ]
    client = UpstreamClient(allen_model_upstream.url)
    neuronal_model_sync(neuronal_model_id=MODEL, client=client, fetch_files=False)
    runs = NeuronalModelRun.objects.filter(neuronal_model_id=MODEL).order_by("id")
    assert list(runs.values_list("id", "name", "explained_variance_ratio", "rheobase_feature_average")) == [
        (991000001, "synthetic run", 0.71, 1.9),
        (991000002, None, None, None),
    ]
    record["neuronal_model_runs"] = [{"id": 991000001, "rheobase_feature_average": 2.5}]  # the ratio not carried
    neuronal_model_sync(neuronal_model_id=MODEL, client=client, fetch_files=False)
    assert NeuronalModelRun.objects.values_list("explained_variance_ratio", "rheobase_feature_average").get(
        id=991000001
    ) == (0.71, 2.5)
    record["neuronal_model_runs"] = [{"id": 991000001, "explained_variance_ratio": "high"}]
    with pytest.raises(SyncError, match="run 991000001: 'explained_variance_ratio' should be a finite number"):
        neuronal_model_sync(neuronal_model_id=MODEL, client=client, fetch_files=False)


@pytest.mark.parametrize("failure", ["no record", "disk full"])
def test_a_fetch_failing_not_by_the_upstream_records_why_for_the_page_polling_it(
    failure, allen_model_upstream, settings, monkeypatch
):
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    file_id = 42 if failure == "no record" else WellKnownFile.objects.order_by("id").first().id
    marker = file_fetch._marker_path(file_id)  # a page queued this fetch and polls it
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    assert file_fetch.file_fetch_state(file_id=file_id, held=False).state == "fetching"
    if failure == "disk full":
        write = filestore.write_atomic
        full = filestore.well_known_file_path(file_id)
        monkeypatch.setattr(
            filestore, "write_atomic", lambda path, *a, **k: _disk_full(path, full) or write(path, *a, **k)
        )
        with pytest.raises(OSError, match="No space left"):
            well_known_file_fetch(file_id=file_id)
        expected = "[Errno 28] No space left on device"
    else:
        with pytest.raises(SyncError):
            well_known_file_fetch(file_id=file_id)
        expected = "no well-known file 42 is recorded here; sync the record that owns it first"
    assert file_fetch.file_fetch_state(file_id=file_id, held=False) == file_fetch.FileFetch("error", expected, False)


def _disk_full(path, full) -> None:
    if path == full:  # the file's own bytes (the failure record still writes)
        raise OSError(28, "No space left on device")
