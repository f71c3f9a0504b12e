"""The RMA parser on every query the AllenSDK and known clients send (allen-api-protocol.md §2, §3, §4).

Query strings were captured from allensdk 2.16.2 (decoded from the wire form) and kept verbatim.
"""

import pytest

from celltypes.rma.errors import RmaError
from celltypes.rma.parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    merge_url_options,
    options_from_params,
    parse,
    parse_legacy,
    parse_params,
    to_text,
)
from celltypes.rma.syntax import (
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
    ValueKind,
)

SID = 464212183
ALL = Options(num_rows="all")
ALL_NO_COUNT = Options(num_rows="all", count=False)


def bare(text: str) -> Value:
    return Value(text, quoted=False)


def quoted(text: str) -> Value:
    return Value(text, quoted=True)


def filt(attr: str, op: str | None = None, *values: Value, table: str | None = None) -> Filter:
    return Filter(attr, table, Op(op) if op else None, tuple(values))


def assoc(name: str, *children: Association, filters: tuple[Filter, ...] = ()) -> Association:
    return Association(name, filters, children)


def model(name: str, **parts) -> Query:
    return Query((ModelStage(name, **parts),))


def only_stage(query: Query) -> ModelStage:
    assert len(query.stages) == 1
    stage = query.stages[0]
    assert isinstance(stage, ModelStage)
    return stage


def assert_round_trip(query: Query) -> None:
    assert parse(to_text(query)) == query


# -- CellTypesCache / CellTypesApi ---------------------------------------------------------------


def test_get_cells_is_the_whole_flat_table():
    query = parse("model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']")
    assert query == model("ApiCellTypesSpecimenDetail", options=ALL)
    assert only_stage(query).position == 0


def test_get_cell_filters_on_double_underscore_column():
    query = parse(
        f"model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq{SID}],rma::options[num_rows$eq'all']"
    )
    assert query == model(
        "ApiCellTypesSpecimenDetail", filters=(filt("specimen__id", "eq", bare(str(SID))),), options=ALL
    )
    value = only_stage(query).filters[0].value
    assert value is not None and value.kind is ValueKind.NUMBER


def test_get_ephys_sweeps():
    query = parse(f"model::EphysSweep,rma::criteria,[specimen_id$eq{SID}],rma::options[num_rows$eq'all']")
    assert query == model("EphysSweep", filters=(filt("specimen_id", "eq", bare(str(SID))),), options=ALL)


def test_get_ephys_features_criteria_is_a_nested_path():
    query = parse(
        "model::EphysFeature,rma::criteria,specimen(ephys_result[failed$eqfalse]),rma::options[num_rows$eq'all']"
    )
    failed = filt("failed", "eq", bare("false"))
    assert query == model(
        "EphysFeature",
        criteria=(assoc("specimen", assoc("ephys_result", filters=(failed,))),),
        options=ALL,
    )
    assert failed.value is not None and failed.value.kind is ValueKind.BOOL


def test_get_morphology_features_keeps_the_sdk_except_bug_for_the_planner():
    query = parse(
        "model::NeuronReconstruction,rma::criteria,specimen(ephys_result[failed$eqfalse]),"
        "rma::options[except$eqt,a,g,s][num_rows$eq'all']"
    )
    stage = only_stage(query)
    assert stage.model == "NeuronReconstruction"
    assert stage.options == Options(
        num_rows="all", except_=(FieldRef("t"), FieldRef("a"), FieldRef("g"), FieldRef("s"))
    )
    assert stage.criteria == (assoc("specimen", assoc("ephys_result", filters=(filt("failed", "eq", bare("false")),))),)


def test_get_ephys_data_has_criteria_and_include_on_the_same_path():
    query = parse(
        f"model::Specimen,rma::criteria,[id$eq{SID}],"
        "ephys_result(well_known_files(well_known_file_type[name$eqNWBDownload])),"
        "rma::include,ephys_result(well_known_files(well_known_file_type)),rma::options[num_rows$eq'all']"
    )
    nwb = filt("name", "eq", bare("NWBDownload"))
    assert query == model(
        "Specimen",
        filters=(filt("id", "eq", bare(str(SID))),),
        criteria=(assoc("ephys_result", assoc("well_known_files", assoc("well_known_file_type", filters=(nwb,)))),),
        include=(assoc("ephys_result", assoc("well_known_files", assoc("well_known_file_type"))),),
        options=ALL,
    )
    assert nwb.value is not None and nwb.value.kind is ValueKind.STRING


@pytest.mark.parametrize("file_type", ["3DNeuronReconstruction", "3DNeuronMarker"])
def test_get_reconstruction_and_markers_filter_inside_the_include(file_type):
    query = parse(
        f"model::Specimen,rma::criteria,[id$eq{SID}],neuron_reconstructions(well_known_files),"
        f"rma::include,neuron_reconstructions(well_known_files(well_known_file_type[name$eq'{file_type}'])),"
        "rma::options[num_rows$eq'all']"
    )
    wkf_type = assoc("well_known_file_type", filters=(filt("name", "eq", quoted(file_type)),))
    assert query == model(
        "Specimen",
        filters=(filt("id", "eq", bare(str(SID))),),
        criteria=(assoc("neuron_reconstructions", assoc("well_known_files")),),
        include=(assoc("neuron_reconstructions", assoc("well_known_files", wkf_type)),),
        options=ALL,
    )


LIST_CELLS_INCLUDE = (
    assoc("structure"),
    assoc("cortex_layer"),
    assoc("donor", assoc("transgenic_lines"), assoc("organism"), assoc("conditions")),
    assoc("specimen_tags"),
    assoc("cell_soma_locations"),
    assoc("ephys_features"),
    assoc("data_sets"),
    assoc("neuron_reconstructions"),
    assoc("cell_reporter"),
)
LIST_CELLS_INCLUDE_TEXT = (
    "rma::include,structure,cortex_layer,donor(transgenic_lines,organism,conditions),specimen_tags,"
    "cell_soma_locations,ephys_features,data_sets,neuron_reconstructions,cell_reporter,"
    "rma::options[num_rows$eq'all']"
)


def test_deprecated_list_cells():
    query = parse(
        "model::Specimen,rma::criteria,[is_cell_specimen$eq'true'],"
        "products[name$in'Mouse Cell Types','Human Cell Types'],ephys_result[failed$eqfalse]," + LIST_CELLS_INCLUDE_TEXT
    )
    assert query == model(
        "Specimen",
        filters=(filt("is_cell_specimen", "eq", quoted("true")),),
        criteria=(
            assoc(
                "products",
                filters=(filt("name", "in", quoted("Mouse Cell Types"), quoted("Human Cell Types")),),
            ),
            assoc("ephys_result", filters=(filt("failed", "eq", bare("false")),)),
        ),
        include=LIST_CELLS_INCLUDE,
        options=ALL,
    )
    # a quoted 'true' stays a string token; the planner coerces by column type
    assert only_stage(query).filters[0].value.kind is ValueKind.STRING


def test_deprecated_list_cells_by_id_quotes_the_number():
    query = parse(f"model::Specimen,rma::criteria,[id$eq'{SID}'],{LIST_CELLS_INCLUDE_TEXT}")
    assert query == model(
        "Specimen", filters=(filt("id", "eq", quoted(str(SID))),), include=LIST_CELLS_INCLUDE, options=ALL
    )


# -- GlifApi ------------------------------------------------------------------------------------

GLIF_TEMPLATE_IDS = ("395310498", "395310469", "395310475", "395310479", "471355161")
GLIF_INCLUDE_TEXT = (
    "rma::include,neuronal_models(well_known_files,neuronal_model_template[id$in"
    + ",".join(GLIF_TEMPLATE_IDS)
    + "],neuronal_model_runs(well_known_files)),rma::options[num_rows$eq'all'][count$eqfalse]"
)
GLIF_INCLUDE = (
    assoc(
        "neuronal_models",
        assoc("well_known_files"),
        assoc("neuronal_model_template", filters=(filt("id", "in", *map(bare, GLIF_TEMPLATE_IDS)),)),
        assoc("neuronal_model_runs", assoc("well_known_files")),
    ),
)


def test_glif_get_neuronal_model_templates_merges_two_options():
    query = parse("model::NeuronalModelTemplate,rma::options[num_rows$eq'all'][count$eqfalse]")
    assert query == model("NeuronalModelTemplate", options=ALL_NO_COUNT)


def test_glif_get_neuronal_models_for_specimens():
    query = parse(f"model::Specimen,rma::criteria,[id$in325464516,{SID}],{GLIF_INCLUDE_TEXT}")
    assert query == model(
        "Specimen",
        filters=(filt("id", "in", bare("325464516"), bare(str(SID))),),
        include=GLIF_INCLUDE,
        options=ALL_NO_COUNT,
    )


def test_glif_get_neuronal_models_without_ids_has_no_criteria():
    query = parse(f"model::Specimen,{GLIF_INCLUDE_TEXT}")
    assert query == model("Specimen", include=GLIF_INCLUDE, options=ALL_NO_COUNT)


def test_glif_get_neuronal_models_by_id_and_get_neuron_configs():
    query = parse(
        "model::NeuronalModel,rma::criteria,[id$in566302806],rma::include,"
        "well_known_files(well_known_file_type),rma::options[num_rows$eq'all'][count$eqfalse]"
    )
    assert query == model(
        "NeuronalModel",
        filters=(filt("id", "in", bare("566302806")),),
        include=(assoc("well_known_files", assoc("well_known_file_type")),),
        options=ALL_NO_COUNT,
    )


def test_glif_deprecated_list_neuronal_models_has_filters_only_in_include():
    query = parse(
        "model::NeuronalModel,rma::include,specimen(ephys_result[failed$eqfalse]),"
        "neuronal_model_template[name$il'*LIF*'],rma::options[num_rows$eq'all']"
    )
    assert query == model(
        "NeuronalModel",
        include=(
            assoc("specimen", assoc("ephys_result", filters=(filt("failed", "eq", bare("false")),))),
            assoc("neuronal_model_template", filters=(filt("name", "il", quoted("*LIF*")),)),
        ),
        options=ALL,
    )


def test_glif_deprecated_get_neuronal_model():
    query = parse(
        "model::NeuronalModel,rma::criteria,[id$eq566302806],rma::include,"
        "neuronal_model_template(well_known_files(well_known_file_type)),"
        "specimen(ephys_sweeps,ephys_result(well_known_files(well_known_file_type))),"
        "well_known_files(well_known_file_type),rma::options[num_rows$eq'all']"
    )
    wkf = assoc("well_known_files", assoc("well_known_file_type"))
    assert query == model(
        "NeuronalModel",
        filters=(filt("id", "eq", bare("566302806")),),
        include=(
            assoc("neuronal_model_template", wkf),
            assoc("specimen", assoc("ephys_sweeps"), assoc("ephys_result", wkf)),
            wkf,
        ),
        options=ALL,
    )


# -- BiophysicalApi -----------------------------------------------------------------------------


def test_biophysical_get_neuronal_models_two_root_filters_in_criteria():
    query = parse(
        "model::NeuronalModel,rma::criteria,[neuronal_model_template_id$in491455321,329230710],"
        f"[specimen_id$in{SID}],rma::options[num_rows$eq'all'][count$eqfalse]"
    )
    assert query == model(
        "NeuronalModel",
        filters=(
            filt("neuronal_model_template_id", "in", bare("491455321"), bare("329230710")),
            filt("specimen_id", "in", bare(str(SID))),
        ),
        options=ALL_NO_COUNT,
    )


def test_biophysical_cache_data_has_no_options():
    paths = (
        "neuronal_model_template(well_known_files(well_known_file_type)),"
        "specimen(ephys_result(well_known_files(well_known_file_type)),"
        "neuron_reconstructions(well_known_files(well_known_file_type)),ephys_sweeps),"
        "well_known_files(well_known_file_type)"
    )
    query = parse(f"model::NeuronalModel,rma::criteria,[id$eq472451419],{paths},rma::include,{paths}")
    wkf = assoc("well_known_files", assoc("well_known_file_type"))
    tree = (
        assoc("neuronal_model_template", wkf),
        assoc("specimen", assoc("ephys_result", wkf), assoc("neuron_reconstructions", wkf), assoc("ephys_sweeps")),
        wkf,
    )
    assert query == model("NeuronalModel", filters=(filt("id", "eq", bare("472451419")),), criteria=tree, include=tree)
    assert only_stage(query).options == Options()
    assert only_stage(query).options.is_empty()


# -- RmaApi -------------------------------------------------------------------------------------


def test_rma_model_query_with_like_filter_and_no_options():
    query = parse("model::Atlas,rma::criteria,[name$il'*Mouse*']")
    assert query == model("Atlas", filters=(filt("name", "il", quoted("*Mouse*")),))


def test_rma_model_query_with_every_option():
    query = parse(
        "model::Specimen,rma::criteria,[id$eq1],rma::include,donor(organism),"
        "rma::options[only$eqid,name][num_rows$eq10][start_row$eq20][order$eq'name'][count$eqfalse]"
    )
    assert query == model(
        "Specimen",
        filters=(filt("id", "eq", bare("1")),),
        include=(assoc("donor", assoc("organism")),),
        options=Options(
            num_rows=10,
            start_row=20,
            order=(OrderBy("name"),),
            only=(FieldRef("id"), FieldRef("name")),
            count=False,
        ),
    )


@pytest.mark.parametrize("separator", ["+", " "])  # Django's request.GET turns '+' into ' '
def test_rma_model_query_filters_glued_to_model_and_tabular_alias(separator):
    query = parse(
        f"model::Gene[id$eq5],rma::options[tabular$eqgenes.id,genes.acronym{separator}as{separator}gene_symbol]"
    )
    assert query == model(
        "Gene",
        filters=(filt("id", "eq", bare("5")),),
        options=Options(tabular=Tabular((Column("id", "genes"), Column("acronym", "genes", alias="gene_symbol")))),
    )


def test_rma_service_query():
    query = parse("service::text_search[query_string$eqfoo]")
    assert query == Query((ServiceStage("text_search", (filt("query_string", "eq", bare("foo")),)),))


def test_pipeline_with_pipe_list_and_pipe_variable():
    query = parse(
        "model::Structure,rma::criteria,[acronym$il'*CA*'],pipe::list[xstructures$eq'id'],"
        "model::Gene,rma::criteria,structures[id$in$xstructures]"
    )
    assert query.stages == (
        ModelStage("Structure", filters=(filt("acronym", "il", quoted("*CA*")),)),
        PipeStage("list", (filt("xstructures", "eq", quoted("id")),)),
        ModelStage("Gene", criteria=(assoc("structures", filters=(filt("id", "in", bare("$xstructures")),)),)),
    )
    assert query.stages[2].criteria[0].filters[0].values[0].kind is ValueKind.PIPEVAR
    assert query.model_stages == (query.stages[0], query.stages[2])


def test_service_parameters_may_be_comma_lists_and_use_is():
    query = parse("service::mouse_connectivity_target_spatial[seed_point$eq6900,5050,6450][x$is1]")
    stage = query.stages[0]
    assert isinstance(stage, ServiceStage)
    assert stage.params == (
        filt("seed_point", "eq", bare("6900"), bare("5050"), bare("6450")),
        filt("x", "is", bare("1")),
    )


# -- ecephys RmaEngine (criteria= form, appended paging options) ----------------------------------

ECEPHYS_PAGE = ",rma::options[start_row$eq0][num_rows$eq5000][order$eq'id']"
ECEPHYS_PAGE_OPTIONS = Options(num_rows=5000, start_row=0, order=(OrderBy("id"),))


def test_ecephys_session_data_filters_on_parent_columns():
    query = parse_params(
        {
            "criteria": "model::WellKnownFile,rma::criteria,well_known_file_type[name$eq'EcephysNwb']"
            "[attachable_type$eq'EcephysSession'][attachable_id$eq7]" + ECEPHYS_PAGE
        }
    )
    assert query == model(
        "WellKnownFile",
        criteria=(
            assoc(
                "well_known_file_type",
                filters=(
                    filt("name", "eq", quoted("EcephysNwb")),
                    filt("attachable_type", "eq", quoted("EcephysSession")),
                    filt("attachable_id", "eq", bare("7")),
                ),
            ),
        ),
        options=ECEPHYS_PAGE_OPTIONS,
    )


def test_ecephys_sessions_glued_filters_and_include():
    query = parse(
        "model::EcephysSession[id$in1,2][fail_eye_tracking$eqfalse][stimulus_name$in'brain_observatory_1.1','x'],"
        "rma::include,specimen(donor(age)),well_known_files(well_known_file_type)" + ECEPHYS_PAGE
    )
    assert query == model(
        "EcephysSession",
        filters=(
            filt("id", "in", bare("1"), bare("2")),
            filt("fail_eye_tracking", "eq", bare("false")),
            filt("stimulus_name", "in", quoted("brain_observatory_1.1"), quoted("x")),
        ),
        include=(
            assoc("specimen", assoc("donor", assoc("age"))),
            assoc("well_known_files", assoc("well_known_file_type")),
        ),
        options=ECEPHYS_PAGE_OPTIONS,
    )


def test_ecephys_channels_merge_tabular_with_appended_paging_options():
    query = parse(
        "model::EcephysChannel[id$in1,2][ecephys_probe_id$in3,4],rma::include,structure,"
        "rma::options[tabular$eq'ecephys_channels.id,ecephys_probe_id,local_index,probe_horizontal_position,"
        "probe_vertical_position,anterior_posterior_ccf_coordinate,dorsal_ventral_ccf_coordinate,"
        "left_right_ccf_coordinate,structures.id as ecephys_structure_id,"
        "structures.acronym as ecephys_structure_acronym']" + ECEPHYS_PAGE
    )
    stage = only_stage(query)
    assert stage.include == (assoc("structure"),)
    assert stage.options.num_rows == 5000 and stage.options.start_row == 0
    assert stage.options.order == (OrderBy("id"),)
    columns = stage.options.tabular.columns
    assert len(columns) == 10 and not stage.options.tabular.distinct
    assert columns[0] == Column("id", "ecephys_channels")
    assert columns[1] == Column("ecephys_probe_id")
    assert columns[8] == Column("id", "structures", alias="ecephys_structure_id")
    assert columns[9] == Column("acronym", "structures", alias="ecephys_structure_acronym")


def test_ecephys_units_repeat_criteria_glued_and_separate():
    query = parse(
        "model::EcephysUnit,rma::criteria[id$in1,2],rma::criteria[ecephys_channel_id$in1,2],"
        "rma::criteria,ecephys_channel(ecephys_probe[id$in3,4]),"
        "rma::criteria,ecephys_channel(ecephys_probe(ecephys_session[id$in1,2]))" + ECEPHYS_PAGE
    )
    assert query == model(
        "EcephysUnit",
        filters=(filt("id", "in", bare("1"), bare("2")), filt("ecephys_channel_id", "in", bare("1"), bare("2"))),
        criteria=(
            assoc("ecephys_channel", assoc("ecephys_probe", filters=(filt("id", "in", bare("3"), bare("4")),))),
            assoc(
                "ecephys_channel",
                assoc("ecephys_probe", assoc("ecephys_session", filters=(filt("id", "in", bare("1"), bare("2")),))),
            ),
        ),
        options=ECEPHYS_PAGE_OPTIONS,
    )


def test_ecephys_unit_metrics_deep_paths_with_quoted_in_list():
    query = parse(
        "model::EcephysUnitMetricBundle,rma::criteria[ecephys_unit_id$in1,2],"
        "rma::criteria,ecephys_unit(ecephys_channel(ecephys_probe(ecephys_session[stimulus_name$in'a','b'])))"
        + ECEPHYS_PAGE
    )
    session = only_stage(query).criteria[0].children[0].children[0].children[0]
    assert session == assoc("ecephys_session", filters=(filt("stimulus_name", "in", quoted("a"), quoted("b")),))


def test_in_list_items_may_be_spread_over_lines():
    query = parse("model::EcephysProbe[id$in 3 ,\n 4\n]")
    assert only_stage(query).filters == (filt("id", "in", bare("3"), bare("4")),)


# -- other clients and the grammar's corners --------------------------------------------------------


def test_morphapi_count_only_query():
    query = parse("model::Specimen,rma::criteria,[nr__reconstruction_type$nenull],rma::options[num_rows$eq0]")
    stage = only_stage(query)
    assert stage.options.num_rows == 0
    assert stage.filters[0].op is Op.NE and stage.filters[0].value.kind is ValueKind.NULL


def test_seed_query_nonnull_and_null_take_no_value():
    """The seed document's own "cells with morphological reconstructions": IS NOT NULL / IS NULL, no value."""
    query = parse("model::ApiCellTypesSpecimenDetail,rma::criteria,[nr__reconstruction_type$nonnull]")
    assert only_stage(query).filters == (filt("nr__reconstruction_type", "nonnull"),)
    assert only_stage(parse("model::X[a$null][b $null ]")).filters == (filt("a", "null"), filt("b", "null"))
    # Everywhere a filter can stand: glued to the model, on associations (nested too), in include, legacy criteria.
    nested = only_stage(parse("model::X,rma::criteria,donor[name$nonnull](organism[id$null]),rma::include,a[b$null]"))
    assert nested.criteria == (
        assoc("donor", assoc("organism", filters=(filt("id", "null"),)), filters=(filt("name", "nonnull"),)),
    )
    assert nested.include == (assoc("a", filters=(filt("b", "null"),)),)
    legacy = parse_legacy("Specimen", {"criteria": "[donor_id$nonnull],donor[name$null]"})
    assert only_stage(legacy).filters == (filt("donor_id", "nonnull"),)
    assert to_text(query) == "model::ApiCellTypesSpecimenDetail[nr__reconstruction_type$nonnull]"
    # A value glued to a two-letter operator still reads as before: `$eqnull`, `$nenull`.
    assert only_stage(parse("model::X[a$eqnull]")).filters == (filt("a", "eq", bare("null")),)


def test_quoted_null_is_a_string_token_with_text_null():
    value = only_stage(parse("model::X[a$ne'null']")).filters[0].value
    assert value == quoted("null") and value.kind is ValueKind.STRING


def test_filter_directly_followed_by_an_association():
    query = parse("model::Structure,rma::criteria,[id$eq1]structure_graph(ontology)")
    assert query == model(
        "Structure",
        filters=(filt("id", "eq", bare("1")),),
        criteria=(assoc("structure_graph", assoc("ontology")),),
    )


def test_association_filter_directly_followed_by_a_sibling():
    query = parse("model::X,rma::include,donor[id$eq1]organism,structure")
    assert only_stage(query).include == (
        assoc("donor", filters=(filt("id", "eq", bare("1")),)),
        assoc("organism"),
        assoc("structure"),
    )


def test_filters_inside_parentheses_belong_to_the_association():
    query = parse("model::X,rma::criteria,specimen([id$eq1],donor[name$eq'x'])")
    assert only_stage(query).criteria == (
        assoc(
            "specimen",
            assoc("donor", filters=(filt("name", "eq", quoted("x")),)),
            filters=(filt("id", "eq", bare("1")),),
        ),
    )


def test_several_filters_on_one_association_and_existence_filter():
    query = parse("model::Chromosome,rma::criteria,chromosome[organism_id$eq1][name$eq'X'],probes[orientation_id]")
    assert only_stage(query).criteria == (
        assoc("chromosome", filters=(filt("organism_id", "eq", bare("1")), filt("name", "eq", quoted("X")))),
        assoc("probes", filters=(filt("orientation_id"),)),
    )


def test_table_qualified_attribute():
    query = parse("model::Gene,rma::criteria,[genes.acronym$li'Ab*']")
    assert only_stage(query).filters == (filt("acronym", "li", quoted("Ab*"), table="genes"),)


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge", "in", "li", "il"])
def test_every_operator(op):
    assert only_stage(parse(f"model::X[a${op}1]")).filters == (filt("a", op, bare("1")),)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("12", ValueKind.NUMBER),
        ("-1.5e3", ValueKind.NUMBER),
        ("true", ValueKind.BOOL),
        ("FALSE", ValueKind.BOOL),
        ("null", ValueKind.NULL),
        ("$xs", ValueKind.PIPEVAR),
        ("mouse_coronal", ValueKind.STRING),
        ("3DNeuronReconstruction", ValueKind.STRING),
        ("a b(c)", ValueKind.STRING),
    ],
)
def test_bare_value_kinds(text, kind):
    value = only_stage(parse(f"model::X[a$eq{text}]")).filters[0].value
    assert value == bare(text) and value.kind is kind


def test_quoted_values_keep_commas_brackets_spaces_and_doubled_quotes():
    value = only_stage(parse("model::X[a$eq' it''s [a], b ']")).filters[0].value
    assert value == quoted(" it's [a], b ")
    assert only_stage(parse("model::X[a$eq'']")).filters[0].value == quoted("")


def test_whitespace_and_plus_around_the_query_are_ignored():
    query = parse(" \n+ model::X , rma::criteria , [ id $eq 1 ] , rma::options [num_rows$eq 'all' ] \n+")
    assert query == model("X", filters=(filt("id", "eq", bare("1")),), options=ALL)


def test_options_in_comma_form_and_repeated_later_wins():
    query = parse("model::X,rma::options,[num_rows$eq10],[start_row$eq5],rma::options[num_rows$eq20]")
    assert only_stage(query).options == Options(num_rows=20, start_row=5)


def test_clauses_in_any_order_and_criteria_repeated():
    query = parse("model::X,rma::options[count$eqtrue],rma::include,a,rma::criteria,b,rma::criteria,[id$eq1],c")
    assert query == model(
        "X",
        filters=(filt("id", "eq", bare("1")),),
        criteria=(assoc("b"), assoc("c")),
        include=(assoc("a"),),
        options=Options(count=True),
    )


def test_root_filters_in_include_are_root_filters():
    assert parse("model::X,rma::include,[id$eq1],a") == model(
        "X", filters=(filt("id", "eq", bare("1")),), include=(assoc("a"),)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("num_rows$eqall", Options(num_rows="all")),
        ("num_rows$eq'ALL'", Options(num_rows="all")),
        ("num_rows$eq'25'", Options(num_rows=25)),
        ("start_row$eq0", Options(start_row=0)),
        ("count$eq'false'", Options(count=False)),
        ("debug$eqtrue", Options(debug=True)),
        ("debug$eqfalse", Options(debug=False)),
        ("debug$eq'preview'", Options(debug="preview")),
        ("order$eq'name+desc'", Options(order=(OrderBy("name", direction="desc"),))),
        ("order$eq'name desc'", Options(order=(OrderBy("name", direction="desc"),))),
        ("order$eq'name$desc'", Options(order=(OrderBy("name", direction="desc"),))),
        ("order$eqname$asc", Options(order=(OrderBy("name"),))),
        ("order$eqstructures.graph_order", Options(order=(OrderBy("graph_order", "structures"),))),
        (
            "order$eq'specimens.name asc','id DESC'",
            Options(order=(OrderBy("name", "specimens"), OrderBy("id", direction="desc"))),
        ),
        ("only$eq'id','name'", Options(only=(FieldRef("id"), FieldRef("name")))),
        ("except$eqspecimens.name", Options(except_=(FieldRef("name", "specimens"),))),
        (
            "tabular$eq'distinct data_sets.id as section_data_set_id,injections.primary_injection_structure_id'",
            Options(
                tabular=Tabular(
                    (
                        Column("id", "data_sets", "section_data_set_id"),
                        Column("primary_injection_structure_id", "injections"),
                    ),
                    distinct=True,
                )
            ),
        ),
        (
            "tabular$eq'genes.id','genes.acronym+as+gene_symbol'",
            Options(tabular=Tabular((Column("id", "genes"), Column("acronym", "genes", "gene_symbol")))),
        ),
    ],
)
def test_option_values(text, expected):
    assert only_stage(parse(f"model::X,rma::options[{text}]")).options == expected


# -- legacy URL form and URL option parameters ------------------------------------------------------


def test_legacy_structure_query():
    query = parse_legacy("Structure", {"criteria": "[graph_id$eq1]", "num_rows": "all"})
    assert query == model("Structure", filters=(filt("graph_id", "eq", bare("1")),), options=ALL)


def test_legacy_specimen_with_include():
    query = parse_legacy("Specimen", {"criteria": "[name$eq'H0351.1015']", "include": "alignment3d"})
    assert query == model(
        "Specimen", filters=(filt("name", "eq", quoted("H0351.1015")),), include=(assoc("alignment3d"),)
    )


def test_legacy_gene_and_reference_space():
    assert parse_legacy("Gene", {"criteria": "[acronym$il'abat']", "include": "organism"}) == model(
        "Gene", filters=(filt("acronym", "il", quoted("abat")),), include=(assoc("organism"),)
    )
    query = parse_legacy(
        "ReferenceSpace",
        {"criteria": "[id$eq10]", "include": "well_known_files[path$li'*gridAnnotation.zip']"},
    )
    assert query == model(
        "ReferenceSpace",
        filters=(filt("id", "eq", bare("10")),),
        include=(assoc("well_known_files", filters=(filt("path", "li", quoted("*gridAnnotation.zip")),)),),
    )


def test_legacy_every_url_option():
    params = {
        "num_rows": "all",
        "start_row": "0",
        "order": "structures.graph_order",
        "only": "id,name",
        "except": "acronym",
        "tabular": "a,b as c",
        "count": "false",
        "debug": "true",
        "filename": "x.csv",  # the view's business, not an option
        "criteria": " ",
    }
    stage = only_stage(parse_legacy("Structure", params))
    assert stage.filters == () and stage.criteria == ()
    assert stage.options == Options(
        num_rows="all",
        start_row=0,
        order=(OrderBy("graph_order", "structures"),),
        only=(FieldRef("id"), FieldRef("name")),
        except_=(FieldRef("acronym"),),
        tabular=Tabular((Column("a"), Column("b", alias="c"))),
        count=False,
        debug=True,
    )


def test_url_options_merge_into_pipeline_query_and_win():
    query = parse_params(
        {"q": "model::X,rma::options[num_rows$eq'all'][order$eqid]", "num_rows": "10", "start_row": "0"}
    )
    assert only_stage(query).options == Options(num_rows=10, start_row=0, order=(OrderBy("id"),))


def test_url_options_go_to_the_last_model_stage():
    query = parse("model::A,pipe::list[x$eq'id'],model::B,rma::criteria,[id$in$x]")
    merged = merge_url_options(query, {"num_rows": "5"})
    assert merged.stages[0].options == Options()
    assert merged.stages[2].options == Options(num_rows=5)
    assert merge_url_options(query, {}) is query


def test_parse_params_forms():
    assert parse_params({"criteria": "model::X"}) == model("X")
    assert parse_params({"q": "model::X", "criteria": "model::Y"}) == model("X")
    assert parse_params({"include": "model::Gene[id$eq15]"}) == model("Gene", filters=(filt("id", "eq", bare("15")),))
    assert parse_params({"criteria": "[id$eq1]"}, model="X") == model("X", filters=(filt("id", "eq", bare("1")),))
    assert options_from_params({"order": "name+desc"}) == Options(order=(OrderBy("name", direction="desc"),))


# -- round trip -----------------------------------------------------------------------------------

SDK_QUERIES = [
    "model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']",
    f"model::Specimen,rma::criteria,[id$eq'{SID}'],{LIST_CELLS_INCLUDE_TEXT}",
    f"model::Specimen,rma::criteria,[id$in325464516,{SID}],{GLIF_INCLUDE_TEXT}",
    "model::Gene[id$eq5],rma::options[tabular$eq'distinct genes.id','genes.acronym+as+gene_symbol']",
    "model::Specimen,rma::criteria,[id$eq1],rma::include,donor(organism),"
    "rma::options[only$eqid,name][except$eqt.a][num_rows$eq10][start_row$eq20][order$eq'name desc']"
    "[count$eqfalse][debug$eq'preview']",
    "model::Structure,rma::criteria,[acronym$il'*CA*'],pipe::list[xstructures$eq'id'],"
    "model::Gene,rma::criteria,structures[id$in$xstructures]",
    "service::text_search[query_string$eqfoo][x$eq1,2]",
    "model::X[a$eq'it''s'][b][c.d$ne null]",
    "model::ApiCellTypesSpecimenDetail,rma::criteria,[nr__reconstruction_type$nonnull],donor[x.y$null]",
]


@pytest.mark.parametrize("text", SDK_QUERIES)
def test_to_text_round_trips(text):
    assert_round_trip(parse(text))


def test_to_text_is_canonical():
    query = parse("model::X,rma::criteria,[id$eq1],a(b),rma::options[order$eq'n$desc'][num_rows$eq'all']")
    assert to_text(query) == "model::X[id$eq1],rma::criteria,a(b),rma::options[num_rows$eq'all'][order$eqn desc]"


def test_positions_point_into_the_text_and_do_not_affect_equality():
    text = "model::X,rma::criteria,specimen[id$eq1]"
    stage = only_stage(parse(text))
    assert stage.criteria[0].position == text.index("specimen")
    assert stage.criteria[0].filters[0].position == text.index("[id")
    assert parse(text) == parse("  " + text)


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty query", 0),
        ("  + ", "empty query", 0),
        ("model::X,rma::criteria,[id$eq1]]", "unexpected ']'", 31),
        ("model::X,rma::criteria,[id$eq1", "unexpected end of query", 30),
        ("model::X,rma::criteria,a(b", "unexpected end of query", 26),
        ("model::X,rma::criteria,a(b))", "unexpected ')'", 27),
        ("model::X,rma::criteria,a()", "empty parentheses after 'a'", 25),
        ("model::X[name$eq'abc]", "unterminated quoted string", 16),
        ("model::X[id$zz1]", "unknown operator '$zz'", 11),
        ("model::X[id$nonnull1]", "'$nonnull' takes no value: write [id$nonnull]", 19),
        ("model::X[id$null'x']", "'$null' takes no value", 16),
        ("model::X[id$nul]", "unknown operator '$nul'", 11),
        ("model::X[id$is1]", "unknown operator '$is'", 11),
        ("model::X[id=1]", "unexpected '='", 11),
        ("model::X[]", "empty filter '[]'", 8),
        ("model::X[id$eq]", "missing value", 14),
        ("model::X[id$in1,]", "missing value", 16),
        ("model::X[id$eq1,2]", "a list of values needs $in", 16),
        ("model::X[id$eq'a'b]", "unexpected 'b'", 17),
        ("model::X[1a$eq1]", "expected an attribute name", 9),
        ("model::X[a.$eq1]", "expected an attribute name after '.'", 11),
        ("model::X[a[b]$eq1]", "unexpected '['", 10),
        ("foo::bar", "unknown stage axis 'foo::'", 0),
        ("model::", "expected a name after 'model::'", 7),
        ("model::X,rma::where,[id$eq1]", "unknown clause 'rma::where'", 9),
        ("rma::criteria,[id$eq1]", "rma::criteria must follow a model:: stage", 0),
        ("[id$eq1]", "a query starts with model::", 0),
        ("model::X,[id$eq1]", "expected rma::criteria, rma::include, rma::options", 9),
        ("model::X,rma::criteria", "rma::criteria is empty", 9),
        ("model::X,rma::include,rma::options[count$eqtrue]", "rma::include is empty", 9),
        ("model::X,rma::options", "rma::options is empty", 9),
        ("model::X,rma::options,a", "expected '[' starting an option", 22),
        ("model::X,", "nothing after ','", 8),
        ("model::X Y", "unexpected 'Y'", 9),
        ("model::X,rma::criteria,a b", "unexpected 'b'", 25),
        ("service::s[a$eq1],rma::options[num_rows$eq1]", "rma::options must follow a model:: stage", 18),
        ("model::X,rma::options[rows$eq1]", "unknown option 'rows'", 22),
        ("model::X,rma::options[num_rows$ne1]", "option 'num_rows' takes $eq", 30),
        ("model::X,rma::options[num_rows$eq-1]", "option 'num_rows' must be a non-negative integer or 'all'", 33),
        ("model::X,rma::options[num_rows$eq1.5]", "must be a non-negative integer", 33),
        ("model::X,rma::options[num_rows$eq1,2]", "option 'num_rows' takes one value", 35),
        ("model::X,rma::options[start_row$eqall]", "option 'start_row' must be a non-negative integer,", 34),
        ("model::X,rma::options[start_row$eq" + "9" * 19 + "]", "must be a non-negative integer", 34),
        ("model::X,rma::options[count$eqmaybe]", "option 'count' must be one of true, false", 30),
        ("model::X,rma::options[debug$eqyes]", "option 'debug' must be one of true, false, preview", 30),
        ("model::X,rma::options[order$eq'a b c']", "bad order item 'a b c'", 30),
        ("model::X,rma::options[order$eq'a sideways']", "bad order item", 30),
        ("model::X,rma::options[order$eq'a,,b']", "empty item in option 'order'", 30),
        ("model::X,rma::options[only$eq'a b']", "option 'only' takes column names", 29),
        ("model::X,rma::options[except$eqa-b]", "bad column name 'a-b'", 31),
        ("model::X,rma::options[tabular$eqa,distinct b]", "'distinct' may only start", 34),
        ("model::X,rma::options[tabular$eqa as]", "bad tabular column 'a as'", 32),
        ("model::X,rma::options[tabular$eqa as 1x]", "bad column alias '1x'", 32),
        ("model::X,rma::options[tabular$eqa.b.c]", "bad column name 'a.b.c'", 32),
    ],
)
def test_errors_say_what_and_where(text, message, position):
    with pytest.raises(RmaError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert str(caught.value).endswith(f" at character {position}")


def test_nesting_is_bounded():
    ok = "model::X,rma::criteria," + "a(" * (MAX_DEPTH - 1) + "b" + ")" * (MAX_DEPTH - 1)
    assert parse(ok).stages[0].criteria[0].name == "a"
    too_deep = "model::X,rma::criteria," + "a(" * MAX_DEPTH + "b" + ")" * MAX_DEPTH
    with pytest.raises(RmaError, match="nested too deeply"):
        parse(too_deep)
    with pytest.raises(RmaError, match="nested too deeply"):
        parse("model::X,rma::criteria," + "a(" * 5000)


def test_length_is_bounded():
    with pytest.raises(RmaError, match="too long") as caught:
        parse("model::X[a$in" + "1," * MAX_LENGTH + "1]")
    assert caught.value.position == MAX_LENGTH


def test_non_text_is_an_rma_error():
    with pytest.raises(RmaError):
        parse(None)  # type: ignore[arg-type]


def test_legacy_errors_name_the_parameter():
    with pytest.raises(RmaError) as caught:
        parse_legacy("Structure", {"criteria": "[graph_id$eq1]]"})
    assert str(caught.value) == "in criteria: unexpected ']', expected ',' at character 14"
    with pytest.raises(RmaError, match="in num_rows: option 'num_rows' must be"):
        parse_legacy("Structure", {"num_rows": "lots"})
    with pytest.raises(RmaError, match="in include: unexpected end of query"):
        parse_legacy("Structure", {"include": "a(b"})
    with pytest.raises(RmaError, match="bad model name"):
        parse_legacy("Struct ure", {})
    with pytest.raises(RmaError, match="no query given"):
        parse_params({"num_rows": "all"})
    with pytest.raises(RmaError, match="need a model:: stage"):
        parse_params({"q": "service::s[a$eq1]", "num_rows": "1"})


def test_rma_error_without_position():
    error = RmaError("unknown model 'Foo'")
    assert str(error) == "unknown model 'Foo'" and error.position is None


def test_parser_modules_import_nothing_but_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    import celltypes.rma.parser as parser_module

    for path in Path(parser_module.__file__).parent.glob("*.py"):
        if path.name not in ("errors.py", "syntax.py", "parser.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names | {"__future__"}, f"{path.name} imports {name}"
