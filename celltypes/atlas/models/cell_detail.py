"""ApiCellTypesSpecimenDetail: Allen's flat 54-column cell table behind the cell search.

Django field names cannot hold a double underscore, so each field is Allen's column name with `__` -> `_`;
`db_column` keeps Allen's name, and the RMA schema maps on it. Rows are written together with the normalised
tables they summarise (see services.py) and a test checks that the two agree.
"""

from django.db import models

from celltypes.atlas.facets import RANGE_FILTERS


class ApiCellTypesSpecimenDetail(models.Model):
    line_name = models.CharField(max_length=300, null=True, blank=True, db_column="line_name", db_index=True)
    specimen_id = models.BigIntegerField(primary_key=True, db_column="specimen__id")
    specimen_name = models.CharField(max_length=300, null=True, blank=True, db_column="specimen__name", db_index=True)
    specimen_hemisphere = models.CharField(max_length=300, null=True, blank=True, db_column="specimen__hemisphere")
    structure_id = models.BigIntegerField(null=True, blank=True, db_column="structure__id")
    structure_name = models.CharField(max_length=300, null=True, blank=True, db_column="structure__name")
    structure_acronym = models.CharField(
        max_length=300, null=True, blank=True, db_column="structure__acronym", db_index=True
    )
    structure_parent_id = models.BigIntegerField(null=True, blank=True, db_column="structure_parent__id")
    structure_parent_acronym = models.CharField(
        max_length=300, null=True, blank=True, db_column="structure_parent__acronym", db_index=True
    )
    structure_layer = models.CharField(
        max_length=300, null=True, blank=True, db_column="structure__layer", db_index=True
    )
    nr_max_euclidean_distance = models.FloatField(null=True, blank=True, db_column="nr__max_euclidean_distance")
    nr_number_stems = models.BigIntegerField(null=True, blank=True, db_column="nr__number_stems")
    nr_number_bifurcations = models.BigIntegerField(null=True, blank=True, db_column="nr__number_bifurcations")
    nr_average_contraction = models.FloatField(null=True, blank=True, db_column="nr__average_contraction")
    nr_average_parent_daughter_ratio = models.FloatField(
        null=True, blank=True, db_column="nr__average_parent_daughter_ratio"
    )
    nr_reconstruction_type = models.CharField(
        max_length=300, null=True, blank=True, db_column="nr__reconstruction_type", db_index=True
    )
    nrwkf_id = models.BigIntegerField(null=True, blank=True, db_column="nrwkf__id")
    erwkf_id = models.BigIntegerField(null=True, blank=True, db_column="erwkf__id")
    ef_fast_trough_v_long_square = models.FloatField(null=True, blank=True, db_column="ef__fast_trough_v_long_square")
    ef_upstroke_downstroke_ratio_long_square = models.FloatField(
        null=True, blank=True, db_column="ef__upstroke_downstroke_ratio_long_square"
    )
    ef_adaptation = models.FloatField(null=True, blank=True, db_column="ef__adaptation")
    ef_f_i_curve_slope = models.FloatField(null=True, blank=True, db_column="ef__f_i_curve_slope")
    ef_threshold_i_long_square = models.FloatField(null=True, blank=True, db_column="ef__threshold_i_long_square")
    ef_tau = models.FloatField(null=True, blank=True, db_column="ef__tau")
    ef_avg_isi = models.FloatField(null=True, blank=True, db_column="ef__avg_isi")
    ef_avg_firing_rate = models.FloatField(null=True, blank=True, db_column="ef__avg_firing_rate")
    ef_ri = models.FloatField(null=True, blank=True, db_column="ef__ri")
    ef_peak_t_ramp = models.FloatField(null=True, blank=True, db_column="ef__peak_t_ramp")
    ef_vrest = models.FloatField(null=True, blank=True, db_column="ef__vrest")
    si_height = models.BigIntegerField(null=True, blank=True, db_column="si__height")
    si_width = models.BigIntegerField(null=True, blank=True, db_column="si__width")
    si_path = models.CharField(max_length=300, null=True, blank=True, db_column="si__path")
    csl_x = models.FloatField(null=True, blank=True, db_column="csl__x")
    csl_y = models.FloatField(null=True, blank=True, db_column="csl__y")
    csl_z = models.FloatField(null=True, blank=True, db_column="csl__z")
    csl_normalized_depth = models.FloatField(null=True, blank=True, db_column="csl__normalized_depth")
    cell_reporter_status = models.CharField(
        max_length=300, null=True, blank=True, db_column="cell_reporter_status", db_index=True
    )
    m_glif = models.BigIntegerField(null=True, blank=True, db_column="m__glif", db_index=True)
    m_biophys = models.BigIntegerField(null=True, blank=True, db_column="m__biophys")
    m_biophys_perisomatic = models.BigIntegerField(
        null=True, blank=True, db_column="m__biophys_perisomatic", db_index=True
    )
    m_biophys_all_active = models.BigIntegerField(
        null=True, blank=True, db_column="m__biophys_all_active", db_index=True
    )
    tag_apical = models.CharField(max_length=300, null=True, blank=True, db_column="tag__apical", db_index=True)
    tag_dendrite_type = models.CharField(
        max_length=300, null=True, blank=True, db_column="tag__dendrite_type", db_index=True
    )
    morph_thumb_path = models.CharField(max_length=300, null=True, blank=True, db_column="morph_thumb_path")
    ephys_thumb_path = models.CharField(max_length=300, null=True, blank=True, db_column="ephys_thumb_path")
    ephys_inst_thresh_thumb_path = models.CharField(
        max_length=300, null=True, blank=True, db_column="ephys_inst_thresh_thumb_path"
    )
    donor_age = models.CharField(max_length=300, null=True, blank=True, db_column="donor__age")
    donor_sex = models.CharField(max_length=300, null=True, blank=True, db_column="donor__sex", db_index=True)
    donor_disease_state = models.CharField(
        max_length=300, null=True, blank=True, db_column="donor__disease_state", db_index=True
    )
    donor_race = models.CharField(max_length=300, null=True, blank=True, db_column="donor__race")
    donor_years_of_seizure_history = models.CharField(
        max_length=300, null=True, blank=True, db_column="donor__years_of_seizure_history"
    )
    donor_species = models.CharField(max_length=300, null=True, blank=True, db_column="donor__species", db_index=True)
    donor_id = models.BigIntegerField(null=True, blank=True, db_column="donor__id")
    donor_name = models.CharField(max_length=300, null=True, blank=True, db_column="donor__name")

    class Meta:
        db_table = "api_cell_types_specimen_details"
        ordering = ["specimen_id"]
        indexes = [
            # Covers every column the cell search filters, counts and searches text on (celltypes/atlas/facets.py,
            # celltypes/web/search.py), so that facet counts read this narrow index instead of the 54-column
            # rows: ~3x faster scans at 100k cells, and a direct seek when the leading facets (species, dendrite
            # type, layer) are picked.
            models.Index(
                fields=[
                    "donor_species",
                    "tag_dendrite_type",
                    "structure_layer",
                    "nr_reconstruction_type",
                    "tag_apical",
                    "structure_parent_acronym",
                    "line_name",
                    "cell_reporter_status",
                    "donor_sex",
                    "donor_disease_state",
                    "m_glif",
                    "m_biophys_perisomatic",
                    "m_biophys_all_active",
                    # the free-text search reads these three besides line and area
                    "specimen_name",
                    "structure_acronym",
                    "structure_name",
                ],
                name="cell_search_facets",
            ),
            # The facet columns plus the numeric range features (celltypes/atlas/facets.py RANGE_FILTERS): with a
            # range filter active, the facet counts and histograms still read one narrow index, not the rows
            # (about 5x faster at 100k cells). Without the text-search columns: PostgreSQL allows 32 per index.
            models.Index(
                fields=[
                    "donor_species",
                    "tag_dendrite_type",
                    "structure_layer",
                    "nr_reconstruction_type",
                    "tag_apical",
                    "structure_parent_acronym",
                    "line_name",
                    "cell_reporter_status",
                    "donor_sex",
                    "donor_disease_state",
                    "m_glif",
                    "m_biophys_perisomatic",
                    "m_biophys_all_active",
                    *(r.field for r in RANGE_FILTERS),
                ],
                name="cell_search_ranges",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.specimen_name} ({self.specimen_id})"
