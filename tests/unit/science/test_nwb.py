"""NWB reading/writing on the two real MIES files of the demo data (ipfx test files)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
from pathlib import Path

import h5py
import numpy as np
import pytest

from celltypes.science.errors import InvalidFileError
from celltypes.science.nwb import (
    AMPS,
    LAYOUT_ALLEN_NWB1,
    LAYOUT_MIES_NWB1,
    LAYOUT_NWB2,
    VOLTS,
    NwbRecording,
    StimulusOntology,
    Sweep,
    SweepInfo,
    analyse_stimulus,
    list_sweeps,
    load_stimulus_ontology,
    read_nwb,
    read_sweep,
    records,
    stimulus_code,
    summarise_nwb,
    write_allen_nwb1,
)

DEMO = Path(__file__).resolve().parents[3] / "celltypes/atlas/demo_data"
DATA = DEMO / "ipfx/tests/data"
ONTOLOGY = DEMO / "ipfx/ipfx/defaults/stimulus_ontology.json"
MIES_NWB1 = DATA / "Sst-IRES-CreAi14-395722.01.01.01.nwb"
MIES_NWB2 = DATA / "valid_v2_MIES-NWBv2-0655f7e4.nwb"
REAL_FILES = [MIES_NWB1, MIES_NWB2]


@pytest.fixture(scope="module")
def ontology() -> StimulusOntology:
    return load_stimulus_ontology(ONTOLOGY)


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    return dst


# --------------------------------------------------------------------------------------------------
# Ontology


def test_ontology_maps_codes_to_names(ontology: StimulusOntology) -> None:
    assert len(ontology) > 150
    assert ontology.name_for("EXTPSMOKET180424") == "Test"
    assert ontology.name_for("EXTPSMOKET") == "Test"
    assert ontology.name_for("C1LSCOARSE150216") == "Long Square"
    assert ontology.name_for("X4PS_SupraThresh") == "Long Square"
    assert ontology.name_for("StimulusSetA") == "Unknown"


def test_stimulus_code_follows_ipfx_rules() -> None:
    assert stimulus_code("EXTPSMOKET180424_DA_0") == "EXTPSMOKET180424"
    assert stimulus_code("C1LSCOARSE141203[3]") == "C1LSCOARSE141203"
    assert stimulus_code("C2SSHM80FN141203[0]x3.5") == "C2SSHM80FN141203"
    assert stimulus_code("StimulusSetA_DA_0") == "StimulusSetA"


def test_broken_ontology_json_is_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "ontology.json"
    bad.write_text('[[["code", "X"], ["name", "Y"]],\n oops]')
    with pytest.raises(InvalidFileError) as info:
        load_stimulus_ontology(bad)
    assert info.value.where == "line 2"
    bad.write_text('[[["code", "X"], "name"]]')
    with pytest.raises(InvalidFileError) as info:
        load_stimulus_ontology(bad)
    assert info.value.where == "record 0"


# --------------------------------------------------------------------------------------------------
# The two real files


def test_read_raw_mies_nwb1(ontology: StimulusOntology) -> None:
    rec = read_nwb(MIES_NWB1, ontology)
    assert rec.layout == LAYOUT_MIES_NWB1
    assert rec.nwb_version == "NWB-1.0.5"
    # The file does not hold the cell name (session_description is "PLACEHOLDER"): taken from the file name.
    assert rec.name == "Sst-IRES-CreAi14-395722.01.01.01"
    assert rec.name_source == "file name"
    assert rec.identifier == "2be17a0ef5d96f50ef2daf1efc89b8aaf7bac4354d116b2c2fe7341a38154fc9"
    assert rec.session_start_time == "2018-06-20T17:51:58.267Z"
    assert rec.session_description == "PLACEHOLDER"
    assert rec.specimen_id is None
    assert rec.sweep_numbers == [0]

    sweep = rec.sweep(0)
    assert sweep.stimulus_name == "Test"
    assert sweep.stimulus_code == "EXTPSMOKET180424"
    assert sweep.stimulus_description == "EXTPSMOKET180424[0]"
    assert sweep.raw_stimulus_description == "EXTPSMOKET180424_DA_0"
    assert sweep.clamp_mode == "VoltageClamp"
    assert sweep.stimulus_units == VOLTS
    assert sweep.response_units == AMPS
    assert sweep.sampling_rate == 200000.0
    assert sweep.num_samples == 66000
    assert sweep.duration == pytest.approx(0.33)
    assert sweep.starting_time == pytest.approx(16.68, abs=1e-6)
    assert sweep.electrode == "electrode_0"
    # After MIES's 10 mV test pulse (samples 9000-11000): three 10 mV, 10 ms pulses 60 ms apart.
    assert sweep.stimulus_absolute_amplitude == 10.0
    assert sweep.stimulus_start_time == pytest.approx(0.15)
    assert sweep.stimulus_duration == pytest.approx(0.129995)
    assert sweep.stimulus_interval == pytest.approx(0.06)
    assert sweep.num_spikes is None and sweep.spike_times is None

    stim, resp = sweep.stimulus, sweep.response
    assert stim.dtype == resp.dtype == np.float64
    assert len(stim) == len(resp) == 66000
    # stored in mV / pA with conversion 1e-3 / 1e-12: returned in V / A
    assert set(np.unique(stim)) == {0.0, 0.01}
    assert np.flatnonzero(np.diff(stim)).tolist() == [8999, 11000, 29999, 31999, 41999, 43999, 53999, 55999]
    np.testing.assert_allclose(resp[:4], [-10e-12, -9.375e-12, -8.125e-12, -8.125e-12], rtol=1e-6)
    assert resp.min() == pytest.approx(-2416.875e-12)
    assert resp.max() == pytest.approx(2413.125e-12)


def test_read_nwb2_icephys(ontology: StimulusOntology) -> None:
    rec = read_nwb(MIES_NWB2, ontology)
    assert rec.layout == LAYOUT_NWB2
    assert rec.nwb_version == "NWB-2.2.0"
    assert rec.name == "valid_v2_MIES-NWBv2-0655f7e4"
    assert rec.name_source == "file name"
    assert rec.identifier == "c454703df93f9a6be7f868f60739c2e0a25843882b4bcf68cfa8271fb82fd6f0"
    assert rec.session_start_time == "2020-01-31T23:54:45.504+01:00"
    assert rec.sweep_numbers == [0]

    sweep = rec.sweeps[0]
    assert sweep.stimulus_name == "Unknown"  # StimulusSetA is a MIES test set, not in the ontology
    assert sweep.stimulus_code == "StimulusSetA"
    assert sweep.stimulus_description == "StimulusSetA[0]"
    assert sweep.raw_stimulus_description == "StimulusSetA_DA_0"
    assert sweep.clamp_mode == "VoltageClamp"
    assert (sweep.stimulus_units, sweep.response_units) == (VOLTS, AMPS)
    assert sweep.sampling_rate == 200000.0
    assert sweep.num_samples == 188001
    assert sweep.starting_time == pytest.approx(3609.377, abs=1e-3)
    assert sweep.electrode == "electrode_0"
    # 10 mV test pulse, then ten 1 mV / 20 ms pulses every 100 ms, the last one running to the end.
    assert sweep.stimulus_absolute_amplitude == 1.0
    assert sweep.stimulus_start_time == pytest.approx(0.02)
    assert sweep.stimulus_duration == pytest.approx(0.92)
    assert sweep.stimulus_interval == pytest.approx(0.1)

    stim, resp = sweep.stimulus, sweep.response
    assert len(stim) == len(resp) == 188001
    assert set(np.unique(stim)) == {0.0, 0.001, 0.01}
    np.testing.assert_allclose(resp[:5], [16.25e-12, 16.25e-12, 16.875e-12, 16.25e-12, 17.5e-12], rtol=1e-6)
    assert resp.min() == pytest.approx(12.5e-12, rel=1e-6)
    assert resp.max() == pytest.approx(1018.125e-12, rel=1e-6)


def test_ontology_argument_forms(tmp_path: Path) -> None:
    custom = tmp_path / "ontology.json"
    custom.write_text('[[["code", "StimulusSetA"], ["name", "Long Square"]]]')
    assert read_nwb(MIES_NWB2, custom).sweeps[0].stimulus_name == "Long Square"
    assert read_nwb(MIES_NWB2, str(custom)).sweeps[0].stimulus_name == "Long Square"
    assert read_nwb(MIES_NWB1, ONTOLOGY).sweeps[0].stimulus_name == "Test"
    assert read_nwb(MIES_NWB1, None).sweeps[0].stimulus_name == "Unknown"  # no ontology: no names
    # a code absent from the given ontology is "Unknown", like ipfx
    assert read_nwb(MIES_NWB1, custom).sweeps[0].stimulus_name == "Unknown"


def test_responses_are_read_lazily() -> None:
    rec = read_nwb(MIES_NWB2, ONTOLOGY)
    assert not rec.sweeps[0].data_loaded
    assert len(rec.sweeps[0].response) == 188001
    assert rec.sweeps[0].data_loaded
    assert read_nwb(MIES_NWB2, ONTOLOGY, lazy=False).sweeps[0].data_loaded
    with pytest.raises(ValueError, match="read-only"):
        rec.sweeps[0].response[0] = 1.0  # cached traces are read-only


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_summarise_reads_no_response_samples(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    original = records.SeriesRef.read

    def spy(self: records.SeriesRef, handle: h5py.File | None = None) -> np.ndarray:
        read.append(self.dataset)
        return original(self, handle)

    monkeypatch.setattr(records.SeriesRef, "read", spy)
    summarise_nwb(path, ONTOLOGY)
    assert read and all(name.startswith("/stimulus/") for name in read)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_summarise_matches_read(path: Path, ontology: StimulusOntology) -> None:
    summary = summarise_nwb(path, ontology)
    rec = read_nwb(path, ontology)
    assert (summary.name, summary.layout, summary.nwb_version) == (rec.name, rec.layout, rec.nwb_version)
    assert all(type(s) is SweepInfo for s in summary.sweeps)
    assert summary.sweeps == [s.info() for s in rec.sweeps]
    row = summary.sweeps[0].as_dict()
    assert row["sweep_number"] == 0 and row["stimulus_units"] == "Volts" and row["num_samples"] > 0


# --------------------------------------------------------------------------------------------------
# Broken files


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_nwb(tmp_path / "nope.nwb", ONTOLOGY)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_truncated_copy_is_invalid(path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    for fraction in (0.1, 0.5, 0.99):
        bad = tmp_path / f"cut-{fraction}.nwb"
        bad.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(InvalidFileError) as info:
            read_nwb(bad, ONTOLOGY, lazy=False)
        assert info.value.where == "/"
        assert "truncated" in info.value.message
        assert info.value.path == str(bad)


def test_random_bytes_are_invalid(tmp_path: Path) -> None:
    bad = tmp_path / "noise.nwb"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert "HDF5" in info.value.message
    empty = tmp_path / "empty.nwb"
    empty.write_bytes(b"")
    with pytest.raises(InvalidFileError):
        summarise_nwb(empty, ONTOLOGY)


def test_hdf5_without_nwb_content(tmp_path: Path) -> None:
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as h:
        h.create_dataset("x", data=[1, 2, 3])
    with pytest.raises(InvalidFileError) as info:
        read_nwb(plain, ONTOLOGY)
    assert info.value.where == "/nwb_version"

    nwb1 = tmp_path / "empty1.nwb"
    with h5py.File(nwb1, "w") as h:
        h.create_dataset("nwb_version", data="NWB-1.0.5")
    with pytest.raises(InvalidFileError) as info:
        read_nwb(nwb1, ONTOLOGY)
    assert info.value.where == "/acquisition/timeseries"

    nwb2 = tmp_path / "empty2.nwb"
    with h5py.File(nwb2, "w") as h:
        h.attrs["nwb_version"] = "2.2.0"
        h.create_group("acquisition")
    with pytest.raises(InvalidFileError) as info:
        read_nwb(nwb2, ONTOLOGY)
    assert info.value.where == "/acquisition"


@pytest.mark.parametrize(
    ("source", "delete", "where"),
    [
        (
            MIES_NWB1,
            "acquisition/timeseries/data_00000_AD0/data",
            "/acquisition/timeseries/data_00000_AD0/data",
        ),
        (MIES_NWB1, "stimulus/presentation/data_00000_DA0", "/stimulus/presentation"),
        (
            MIES_NWB1,
            "stimulus/presentation/data_00000_DA0/starting_time",
            "/stimulus/presentation/data_00000_DA0/starting_time",
        ),
        (MIES_NWB2, "acquisition/data_00000_AD0/starting_time", "/acquisition/data_00000_AD0/starting_time"),
        (
            MIES_NWB2,
            "stimulus/presentation/data_00000_DA0/data",
            "/stimulus/presentation/data_00000_DA0/data",
        ),
    ],
)
def test_missing_dataset_is_named(source: Path, delete: str, where: str, tmp_path: Path) -> None:
    bad = _copy(source, tmp_path)
    with h5py.File(bad, "r+") as h:
        del h[delete]
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert info.value.where == where
    assert where in str(info.value)


def test_missing_rate_attribute_is_named(tmp_path: Path) -> None:
    bad = _copy(MIES_NWB1, tmp_path)
    with h5py.File(bad, "r+") as h:
        del h["acquisition/timeseries/data_00000_AD0/starting_time"].attrs["rate"]
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert info.value.where == "/acquisition/timeseries/data_00000_AD0/starting_time"
    assert "rate" in info.value.message


MIES1_RESPONSE = "/acquisition/timeseries/data_00000_AD0/data"
MIES1_STIMULUS = "/stimulus/presentation/data_00000_DA0/data"


def _edited_copy(source: Path, tmp_path: Path, edit) -> Path:
    """A copy of a real file with ``edit(h5py.File)`` applied."""
    copy = _copy(source, tmp_path)
    with h5py.File(copy, "r+") as h:
        edit(h)
    return copy


@pytest.mark.parametrize("dataset", [MIES1_RESPONSE, MIES1_STIMULUS])
def test_an_nwb1_series_without_conversion_is_refused(dataset: str, tmp_path: Path) -> None:
    # MIES stores pA and mV with conversion 1e-12 / 1e-3: read as 1.0, values came out 1e12 (1e3) times too large.
    bad = _edited_copy(MIES_NWB1, tmp_path, lambda h: h[dataset].attrs.__delitem__("conversion"))
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert info.value.where == dataset
    assert "missing attribute 'conversion'" in info.value.message


@pytest.mark.parametrize("conversion", [0.0, np.nan], ids=["zero", "nan"])
def test_a_conversion_of_zero_or_nan_is_refused(conversion: float, tmp_path: Path) -> None:
    bad = _edited_copy(
        MIES_NWB2, tmp_path, lambda h: h["acquisition/data_00000_AD0/data"].attrs.__setitem__("conversion", conversion)
    )
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert info.value.where == "/acquisition/data_00000_AD0/data"
    assert "bad conversion" in info.value.message


def test_an_allen_nwb1_series_without_conversion_is_refused(tmp_path: Path) -> None:
    out = write_allen_nwb1(_synthetic_recording([1, 2]), tmp_path / "allen.nwb")
    with h5py.File(out, "r+") as h:
        del h["acquisition/timeseries/Sweep_2/data"].attrs["conversion"]
    assert list_sweeps(out) == [1, 2]
    assert read_sweep(out, 1, None).stimulus_absolute_amplitude == 10.0
    with pytest.raises(InvalidFileError) as info:
        read_sweep(out, 2, None)
    assert info.value.where == "/acquisition/timeseries/Sweep_2/data"


def _shorten_stimulus(h: h5py.File) -> None:
    old = h[MIES1_STIMULUS]
    values, attrs = old[:60000], dict(old.attrs)
    del h[MIES1_STIMULUS]
    new = h.create_dataset(MIES1_STIMULUS, data=values)
    new.attrs.update(attrs)


def test_a_stimulus_shorter_than_its_response_is_refused(tmp_path: Path) -> None:
    bad = _edited_copy(MIES_NWB1, tmp_path, _shorten_stimulus)
    with pytest.raises(InvalidFileError) as info:
        summarise_nwb(bad, ONTOLOGY)
    assert info.value.where == MIES1_STIMULUS
    assert "the stimulus (60000 samples) is shorter than its response" in info.value.message
    assert "(66000 samples)" in info.value.message


def test_a_stimulus_sampled_at_another_rate_is_refused(tmp_path: Path) -> None:
    group = "/stimulus/presentation/data_00000_DA0/starting_time"
    bad = _edited_copy(MIES_NWB1, tmp_path, lambda h: h[group].attrs.__setitem__("rate", 100000.0))
    with pytest.raises(InvalidFileError) as info:
        read_nwb(bad, ONTOLOGY)
    assert info.value.where == group
    assert "100000 Hz" in info.value.message and "200000 Hz" in info.value.message


def _set_samples(dataset: str, index: slice | int, value: float):
    def edit(h: h5py.File) -> None:
        h[dataset][index] = value

    return edit


def test_a_nan_in_the_stimulus_is_refused(tmp_path: Path) -> None:
    bad = _edited_copy(MIES_NWB1, tmp_path, _set_samples(MIES1_STIMULUS, 30000, np.nan))
    with pytest.raises(InvalidFileError) as info:
        summarise_nwb(bad, ONTOLOGY)  # the stimulus amplitude used to come out NaN
    assert info.value.where == MIES1_STIMULUS
    assert "1 samples are NaN or infinite, the first at sample 30000" in info.value.message


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_a_non_finite_sample_inside_the_response_is_refused(value: float, tmp_path: Path) -> None:
    bad = _edited_copy(MIES_NWB1, tmp_path, _set_samples(MIES1_RESPONSE, slice(100, 103), value))
    sweep = read_nwb(bad, ONTOLOGY).sweep(0)  # metadata reads no response samples
    with pytest.raises(InvalidFileError) as info:
        _ = sweep.response
    assert info.value.where == MIES1_RESPONSE
    assert "3 samples are NaN or infinite before the recording's end, the first at sample 100" in str(info.value)
    with pytest.raises(InvalidFileError):
        read_sweep(bad, 0, ONTOLOGY)


def test_a_response_ending_in_nan_is_a_recording_stopped_early(tmp_path: Path) -> None:
    bad = _edited_copy(MIES_NWB1, tmp_path, _set_samples(MIES1_RESPONSE, slice(50000, None), np.nan))
    sweep = read_sweep(bad, 0, ONTOLOGY)
    assert sweep.num_samples == 66000
    assert sweep.recorded_samples == 50000
    original = read_sweep(MIES_NWB1, 0, ONTOLOGY)
    np.testing.assert_array_equal(sweep.response[:50000], original.response[:50000])
    assert np.isnan(sweep.response[50000:]).all()


def test_lazy_read_of_a_damaged_file_names_the_dataset(tmp_path: Path) -> None:
    path = _copy(MIES_NWB1, tmp_path)
    rec = read_nwb(path, ONTOLOGY)
    path.write_bytes(b"\0" * 100)  # replaced after the metadata was read
    with pytest.raises(InvalidFileError) as info:
        _ = rec.sweeps[0].response
    assert info.value.where == "/acquisition/timeseries/data_00000_AD0/data"


def test_corrupt_compressed_chunk_names_the_dataset(tmp_path: Path) -> None:
    converted = write_allen_nwb1(read_nwb(MIES_NWB1, ONTOLOGY), tmp_path / "allen.nwb")
    with h5py.File(converted, "r") as h:
        chunk = h["acquisition/timeseries/Sweep_0/data"].id.get_chunk_info(0)
    raw = bytearray(converted.read_bytes())
    raw[chunk.byte_offset + 8 : chunk.byte_offset + 64] = b"\xff" * 56
    converted.write_bytes(bytes(raw))
    with pytest.raises(InvalidFileError) as info:
        read_nwb(converted, ONTOLOGY, lazy=False)
    assert info.value.where == "/acquisition/timeseries/Sweep_0/data"


# --------------------------------------------------------------------------------------------------
# Allen released NWB 1 layout


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_round_trip_through_allen_layout(path: Path, tmp_path: Path, ontology: StimulusOntology) -> None:
    original = read_nwb(path, ontology)
    out = write_allen_nwb1(original, tmp_path / "out" / f"{path.stem}.nwb")
    assert out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temp file left behind
    assert stat.S_IMODE(out.stat().st_mode) & 0o044 == 0o044 & ~_umask()

    back = read_nwb(out, ontology)
    assert back.layout == LAYOUT_ALLEN_NWB1
    assert back.name == original.name
    assert back.name_source == "/general/aibs_specimen_name"
    assert back.identifier == original.identifier
    assert back.session_start_time == original.session_start_time
    assert back.sweep_numbers == original.sweep_numbers
    for a, b in zip(original.sweeps, back.sweeps, strict=True):
        assert b.info() == a.info()
        np.testing.assert_array_equal(b.stimulus, a.stimulus)
        np.testing.assert_array_equal(b.response, a.response)
    # and once more: Allen -> Allen is stable
    again = read_nwb(write_allen_nwb1(back, tmp_path / "again.nwb"), ontology)
    assert [s.info() for s in again.sweeps] == [s.info() for s in original.sweeps]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_allen_layout_structure(tmp_path: Path) -> None:
    out = write_allen_nwb1(read_nwb(MIES_NWB1, ONTOLOGY), tmp_path / "allen.nwb")
    with h5py.File(out, "r") as h:
        assert h["nwb_version"][()] == b"NWB-1.0.5"
        assert h["general/aibs_specimen_name"][()] == b"Sst-IRES-CreAi14-395722.01.01.01"
        assert list(h["epochs"]) == ["Sweep_0"]  # voltage clamp: no TestPulse/Experiment epochs
        epoch = h["epochs/Sweep_0"]
        for role, target in (
            ("stimulus", "/stimulus/presentation/Sweep_0"),
            ("response", "/acquisition/timeseries/Sweep_0"),
        ):
            link = epoch[role].get("timeseries", getlink=True)
            assert isinstance(link, h5py.SoftLink) and link.path == target
            assert epoch[role]["idx_start"][()] == 0
            assert epoch[role]["count"][()] == 66000
        stim = h["stimulus/presentation/Sweep_0"]
        resp = h["acquisition/timeseries/Sweep_0"]
        assert stim["data"].attrs["unit"] == b"Volts"  # bytes: the SDK decodes it
        assert isinstance(stim["data"].attrs["unit"], np.bytes_)
        assert resp["data"].attrs["unit"] == b"Amps"
        assert stim["data"].attrs["conversion"] == 1.0
        assert stim["starting_time"].attrs["rate"] == 200000.0
        assert list(resp.attrs["ancestry"]) == ["TimeSeries", "PatchClampSeries", "VoltageClampSeries"]
        assert stim["aibs_stimulus_name"][()] == b"Test"
        assert stim["aibs_stimulus_amplitude_pa"][()] == 10.0
        assert resp["aibs_stimulus_description"][()] == b"EXTPSMOKET180424[0]"
        assert resp["stimulus_description"][()] == b"EXTPSMOKET180424_DA_0"
        assert "spike_times" in h["analysis"] and len(h["analysis/spike_times"]) == 0


def _current_clamp_recording() -> NwbRecording:
    rate = 200000.0
    n = int(2.5 * rate)
    stim = np.zeros(n)
    stim[2000:4000] = -50e-12  # test pulse
    stim[204000:404000] = -110e-12  # 1 s long square from 1.02 s
    resp = np.full(n, -0.07)
    resp[204000:404000] = -0.08
    sweep = Sweep.from_arrays(
        stim,
        resp,
        sweep_number=19,
        stimulus_name="Long Square",
        stimulus_code="C1LSCOARSE141203",
        stimulus_description="C1LSCOARSE141203[0]",
        stimulus_units=AMPS,
        response_units=VOLTS,
        clamp_mode="CurrentClamp",
        sampling_rate=rate,
        stimulus_absolute_amplitude=-110.0,
        spike_times=np.array([1.1, 1.25]),
        num_spikes=2,
    )
    return NwbRecording(
        path="synthetic.nwb", layout="memory", nwb_version="-", name="Cell;1", name_source="-", sweeps=[sweep]
    )


def test_current_clamp_sweep_round_trip(tmp_path: Path) -> None:
    rec = _current_clamp_recording()
    out = write_allen_nwb1(rec, tmp_path / "cc.nwb", dtype=np.float32)
    back = read_nwb(out, ONTOLOGY)
    sweep = back.sweep(19)
    assert sweep.clamp_mode == "CurrentClamp"
    assert (sweep.stimulus_units, sweep.response_units) == (AMPS, VOLTS)
    assert sweep.stimulus_name == "Long Square"
    assert sweep.stimulus_absolute_amplitude == -110.0
    assert sweep.stimulus_start_time == pytest.approx(1.02)
    assert sweep.stimulus_duration == pytest.approx(0.999995)
    assert sweep.stimulus_interval is None
    assert sweep.spike_times.tolist() == [1.1, 1.25] and sweep.num_spikes == 2
    np.testing.assert_allclose(sweep.response, rec.sweeps[0].response, rtol=1e-7)
    with h5py.File(out, "r") as h:
        assert sorted(h["epochs"]) == ["Experiment_19", "Sweep_19", "TestPulse_19"]
        assert h["epochs/Experiment_19/response/idx_start"][()] == 150000  # 0.75 s, as Allen's converter
        assert h["epochs/Experiment_19/response/count"][()] == 500000 - 150000
        assert h["acquisition/timeseries/Sweep_19/data"].dtype == np.float32


def test_write_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "target.nwb"
    out.write_bytes(b"previous")
    (tmp_path / "src").mkdir()
    rec = read_nwb(_copy(MIES_NWB1, tmp_path / "src"), ONTOLOGY)
    Path(rec.path).write_bytes(b"\0" * 100)  # the lazy response can no longer be read
    with pytest.raises(InvalidFileError):
        write_allen_nwb1(rec, out)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src", "target.nwb"]


def test_duplicate_sweep_numbers_are_refused(tmp_path: Path) -> None:
    rec = read_nwb(MIES_NWB1, ONTOLOGY)
    rec.sweeps = rec.sweeps * 2
    with pytest.raises(ValueError, match="sweep numbers must be unique"):
        write_allen_nwb1(rec, tmp_path / "dup.nwb")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------------
# Stimulus analysis


def test_analyse_stimulus_long_square_and_no_stimulus() -> None:
    rate = 200000.0
    stim = np.zeros(600000)
    stim[2000:4000] = 50e-12
    stim[204000:404000] = 90e-12
    epoch = analyse_stimulus(stim, rate, AMPS)
    assert epoch.test_pulse
    assert epoch.amplitude == 90.0
    assert (epoch.start_index, epoch.end_index) == (204000, 403999)
    assert epoch.start_time == pytest.approx(1.02)
    assert epoch.duration == pytest.approx(0.999995)  # as in the released EphysSweep table
    only_pulse = np.zeros(1000)
    only_pulse[100:200] = 0.01
    blank = analyse_stimulus(only_pulse, rate, VOLTS, test_pulse=True)
    assert (blank.amplitude, blank.start_time, blank.duration) == (0.0, None, None)
    assert analyse_stimulus(only_pulse, rate, VOLTS, test_pulse=False).amplitude == 10.0


# --------------------------------------------------------------------------------------------------
# One sweep at a time


def _synthetic_recording(numbers: list[int], rate: float = 20000.0) -> NwbRecording:
    """Synthetic current-clamp sweeps, 0.5 s each: sweep n steps to n × 10 pA from 0.1 s to 0.3 s."""
    sweeps = []
    for number in numbers:
        stim = np.zeros(int(0.5 * rate))
        stim[int(0.1 * rate) : int(0.3 * rate)] = number * 10e-12
        sweeps.append(
            Sweep.from_arrays(
                stim,
                -0.07 + stim * 1e8,
                sweep_number=number,
                stimulus_name="Long Square",
                stimulus_code="C1LSCOARSE141203",
                stimulus_description=f"C1LSCOARSE141203[{number}]",
                stimulus_units=AMPS,
                response_units=VOLTS,
                clamp_mode="CurrentClamp",
                sampling_rate=rate,
                stimulus_absolute_amplitude=number * 10.0,
            )
        )
    return NwbRecording(
        path="synthetic.nwb", layout="memory", nwb_version="-", name="synthetic", name_source="-", sweeps=sweeps
    )


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_list_sweeps_of_the_real_files(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records.SeriesRef, "read", None)  # reads no samples at all
    assert list_sweeps(path) == [0]


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_read_sweep_equals_the_sweep_of_read_nwb(path: Path, tmp_path: Path, ontology: StimulusOntology) -> None:
    whole = read_nwb(path, ontology).sweep(0)
    copy = _copy(path, tmp_path)
    sweep = read_sweep(copy, 0, ontology)
    copy.unlink()  # the sweep holds its data: the file is closed and no longer needed
    assert sweep.info() == whole.info()
    assert sweep.data_loaded
    np.testing.assert_array_equal(sweep.stimulus, whole.stimulus)
    np.testing.assert_array_equal(sweep.response, whole.response)
    assert not sweep.response.flags.writeable
    assert sweep.recorded_samples == sweep.num_samples
    with pytest.raises(dataclasses.FrozenInstanceError):
        sweep.sampling_rate = 1.0  # type: ignore[misc]


def test_read_sweep_of_the_allen_layout_reads_only_that_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = write_allen_nwb1(_synthetic_recording([3, 4, 5]), tmp_path / "three.nwb")
    assert list_sweeps(out) == [3, 4, 5]
    read: list[str] = []
    original = records.SeriesRef.read

    def spy(self: records.SeriesRef, handle: h5py.File | None = None) -> np.ndarray:
        read.append(self.dataset)
        return original(self, handle)

    monkeypatch.setattr(records.SeriesRef, "read", spy)
    sweep = read_sweep(out, 4, None)
    assert sorted(read) == ["/acquisition/timeseries/Sweep_4/data", "/stimulus/presentation/Sweep_4/data"]
    assert (sweep.sweep_number, sweep.stimulus_name, sweep.clamp_mode) == (4, "Long Square", "CurrentClamp")
    assert (sweep.stimulus_units, sweep.response_units, sweep.sampling_rate) == (AMPS, VOLTS, 20000.0)
    assert sweep.stimulus_absolute_amplitude == 40.0
    assert sweep.stimulus_start_time == pytest.approx(0.1)
    assert sweep.stimulus.max() == pytest.approx(40e-12)
    assert sweep.response.max() == pytest.approx(-0.066)


def test_read_sweep_of_a_missing_sweep_names_the_sweeps_there_are(tmp_path: Path) -> None:
    out = write_allen_nwb1(_synthetic_recording([0, 1, 2, 7]), tmp_path / "four.nwb")
    with pytest.raises(InvalidFileError) as info:
        read_sweep(out, 5, None)
    assert info.value.path == str(out)
    assert "no sweep 5 (the file has sweeps 0-2, 7)" in info.value.message
    with pytest.raises(InvalidFileError, match="no sweep 1 "):
        read_sweep(MIES_NWB2, 1, None)


def test_read_sweep_and_list_sweeps_of_broken_files(tmp_path: Path) -> None:
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(MIES_NWB1.read_bytes()[:100_000])
    for call in (lambda: list_sweeps(cut), lambda: read_sweep(cut, 0, None)):
        with pytest.raises(InvalidFileError) as info:
            call()
        assert info.value.where == "/"
    with pytest.raises(FileNotFoundError):
        read_sweep(tmp_path / "absent.nwb", 0, None)
    bad = _copy(MIES_NWB2, tmp_path)
    with h5py.File(bad, "r+") as h:
        del h["acquisition/data_00000_AD0/data"]
    with pytest.raises(InvalidFileError) as info:
        read_sweep(bad, 0, None)
    assert info.value.where == "/acquisition/data_00000_AD0/data"


def test_the_ontology_is_always_passed_in() -> None:
    for call in (read_nwb, summarise_nwb):
        with pytest.raises(TypeError):
            call(MIES_NWB1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        read_sweep(MIES_NWB1, 0)  # type: ignore[call-arg]


def _second_headstage(h: h5py.File) -> None:
    """Copy sweep 0's series as headstage 1 (electrode_1): one sweep number, two electrodes."""
    h.copy("general/intracellular_ephys/electrode_0", "general/intracellular_ephys/electrode_1")
    for old, new in (
        ("acquisition/data_00000_AD0", "acquisition/data_00000_AD1"),
        ("stimulus/presentation/data_00000_DA0", "stimulus/presentation/data_00000_DA1"),
    ):
        h.copy(old, new)
        del h[f"{new}/electrode"]
        h[f"{new}/electrode"] = h5py.SoftLink("/general/intracellular_ephys/electrode_1")


def test_read_sweep_of_two_headstages_needs_the_electrode(tmp_path: Path) -> None:
    two = _edited_copy(MIES_NWB2, tmp_path, _second_headstage)
    assert list_sweeps(two) == [0]
    assert [s.electrode for s in read_nwb(two, ONTOLOGY).sweeps] == ["electrode_0", "electrode_1"]
    with pytest.raises(InvalidFileError, match="several electrodes; pass one .it has electrode_0, electrode_1"):
        read_sweep(two, 0, ONTOLOGY)
    with pytest.raises(InvalidFileError, match="no electrode 'electrode_7'"):
        read_sweep(two, 0, ONTOLOGY, electrode="electrode_7")
    sweep = read_sweep(two, 0, ONTOLOGY, electrode="electrode_1")
    assert sweep.electrode == "electrode_1"
    np.testing.assert_array_equal(sweep.response, read_sweep(MIES_NWB2, 0, ONTOLOGY).response)
