"""Property tests: the parser never fails with anything but RmaError, and to_text round-trips."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from celltypes.rma.errors import RmaError
from celltypes.rma.parser import options_from_params, parse, parse_legacy, to_text
from celltypes.rma.syntax import (
    VALUELESS_OPS,
    Association,
    Column,
    FieldRef,
    Filter,
    ModelStage,
    Op,
    Options,
    OrderBy,
    PipeStage,
    Query,
    ServiceStage,
    Tabular,
    Value,
)

FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SDK_QUERIES = [
    "model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']",
    "model::EphysSweep,rma::criteria,[specimen_id$eq464212183],rma::options[num_rows$eq'all']",
    "model::NeuronReconstruction,rma::criteria,specimen(ephys_result[failed$eqfalse]),"
    "rma::options[except$eqt,a,g,s][num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$eq464212183],ephys_result(well_known_files(well_known_file_type"
    "[name$eqNWBDownload])),rma::include,ephys_result(well_known_files(well_known_file_type)),"
    "rma::options[num_rows$eq'all']",
    "model::Specimen,rma::criteria,[is_cell_specimen$eq'true'],products[name$in'Mouse Cell Types',"
    "'Human Cell Types'],ephys_result[failed$eqfalse],rma::include,structure,cortex_layer,"
    "donor(transgenic_lines,organism,conditions),specimen_tags,rma::options[num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$in325464516],rma::include,neuronal_models(well_known_files,"
    "neuronal_model_template[id$in395310498,395310469],neuronal_model_runs(well_known_files)),"
    "rma::options[num_rows$eq'all'][count$eqfalse]",
    "model::NeuronalModel,rma::include,specimen(ephys_result[failed$eqfalse]),"
    "neuronal_model_template[name$il'*LIF*'],rma::options[num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$eq1],rma::include,donor(organism),"
    "rma::options[only$eqid,name][num_rows$eq10][start_row$eq20][order$eq'name desc'][count$eqfalse]",
    "model::Gene[id$eq5],rma::options[tabular$eq'distinct genes.id','genes.acronym+as+gene_symbol']",
    "model::Structure,rma::criteria,[acronym$il'*CA*'],pipe::list[xstructures$eq'id'],"
    "model::Gene,rma::criteria,[id$eq1]structures[id$in$xstructures],rma::options,[debug$eq'preview']",
    "service::text_search[query_string$eqfoo]",
    "model::EcephysUnit,rma::criteria[id$in1,2],rma::criteria,ecephys_channel(ecephys_probe[id$in3,4]),"
    "rma::options[start_row$eq0][num_rows$eq5000][order$eq'id']",
]

RMA_CHARS = "[](),'$:+. \n*_=-" + "abeilnoqtsux" + "019"


def parses_or_raises_rma_error(text: str) -> None:
    try:
        result = parse(text)
    except RmaError as error:
        assert error.position is None or 0 <= error.position <= max(len(text), 20_000)
        assert str(error)
    else:
        assert isinstance(result, Query)
        assert parse(to_text(result)) == result


@FUZZ
@given(st.one_of(st.text(max_size=200), st.text(alphabet=RMA_CHARS, max_size=200)))
def test_random_text(text):
    parses_or_raises_rma_error(text)


@FUZZ
@given(st.text(alphabet=RMA_CHARS, max_size=60), st.text(alphabet=RMA_CHARS, max_size=60))
def test_random_text_after_a_valid_prefix(option_text, path_text):
    parses_or_raises_rma_error(f"model::X,rma::options[{option_text}]")
    parses_or_raises_rma_error(f"model::X,rma::criteria,{path_text}")


mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.sampled_from(RMA_CHARS) | st.characters(),
)


@FUZZ
@given(st.sampled_from(SDK_QUERIES), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_sdk_queries(text, mutations):
    for kind, where, char in mutations:
        index = int(where * (len(text) + 1)) if kind == "insert" else int(where * len(text))
        if kind == "insert":
            text = text[:index] + char + text[index:]
        elif text and kind == "delete":
            text = text[:index] + text[index + 1 :]
        elif text:
            text = text[:index] + char + text[index + 1 :]
    parses_or_raises_rma_error(text)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["criteria", "include", "num_rows", "start_row", "order", "only", "except", "tabular"]),
        st.text(alphabet=RMA_CHARS, max_size=40),
    )
)
def test_legacy_parameters(params):
    try:
        query = parse_legacy("Specimen", params)
        options_from_params(params)
    except RmaError:
        return
    assert parse(to_text(query)) == query


# -- generated valid trees round-trip --------------------------------------------------------------

KEYWORDS = {"distinct", "as", "asc", "desc"}
idents = st.builds(
    str.__add__,
    st.sampled_from("abcxyzABC_"),
    st.text(alphabet="abcdesxyzAB_019", max_size=7),
).filter(lambda s: s.lower() not in KEYWORDS)
bare_texts = st.text(alphabet='abcXYZ019_.-*$()+:;!@#%^&/"~ \t', min_size=1, max_size=12).filter(
    lambda s: s == s.strip(" \t\r\n\f\v")
)
values = st.one_of(st.builds(Value, bare_texts, st.just(False)), st.builds(Value, st.text(max_size=12), st.just(True)))


def filters(scalar_ops: list[Op], list_ops: list[Op]) -> st.SearchStrategy[Filter]:
    refs = {"attr": idents, "table": st.none() | idents}
    return st.one_of(
        st.builds(Filter, **refs, op=st.none() | st.sampled_from(sorted(VALUELESS_OPS)), values=st.just(())),
        st.builds(Filter, **refs, op=st.sampled_from(scalar_ops), values=st.tuples(values)),
        st.builds(
            Filter, **refs, op=st.sampled_from(list_ops), values=st.lists(values, min_size=1, max_size=4).map(tuple)
        ),
    )


model_filters = filters([op for op in Op if op is not Op.IS and op not in VALUELESS_OPS], [Op.IN])
param_filters = filters(  # service:: / pipe:: parameters take lists with any operator that takes values
    [op for op in Op if op not in VALUELESS_OPS], [op for op in Op if op not in VALUELESS_OPS]
)


def associations(depth: int) -> st.SearchStrategy[Association]:
    children = st.just(()) if depth == 0 else st.lists(associations(depth - 1), max_size=2).map(tuple)
    return st.builds(
        Association, name=idents, filters=st.lists(model_filters, max_size=2).map(tuple), children=children
    )


refs = st.builds(FieldRef, attr=idents, table=st.none() | idents)
uints = st.integers(min_value=0, max_value=10**18 - 1)
options = st.builds(
    Options,
    num_rows=st.none() | st.just("all") | uints,
    start_row=st.none() | uints,
    order=st.none()
    | st.lists(
        st.builds(OrderBy, attr=idents, table=st.none() | idents, direction=st.sampled_from(["asc", "desc"])),
        min_size=1,
        max_size=3,
    ).map(tuple),
    only=st.none() | st.lists(refs, min_size=1, max_size=3).map(tuple),
    except_=st.none() | st.lists(refs, min_size=1, max_size=3).map(tuple),
    tabular=st.none()
    | st.builds(
        Tabular,
        columns=st.lists(
            st.builds(Column, attr=idents, table=st.none() | idents, alias=st.none() | idents),
            min_size=1,
            max_size=3,
        ).map(tuple),
        distinct=st.booleans(),
    ),
    count=st.none() | st.booleans(),
    debug=st.sampled_from([None, True, False, "preview"]),
)
paths = st.lists(associations(2), max_size=2).map(tuple)
stages = st.one_of(
    st.builds(
        ModelStage,
        model=idents,
        filters=st.lists(model_filters, max_size=3).map(tuple),
        criteria=paths,
        include=paths,
        options=options,
    ),
    st.builds(ServiceStage, name=idents, params=st.lists(param_filters, max_size=3).map(tuple)),
    st.builds(PipeStage, name=idents, params=st.lists(param_filters, max_size=2).map(tuple)),
)
queries = st.lists(stages, min_size=1, max_size=3).map(lambda s: Query(tuple(s)))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_generated_queries_round_trip(query):
    assert parse(to_text(query)) == query
