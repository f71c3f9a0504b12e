"""The {% label %} template tag: templates read the wording of celltypes/atlas/vocabulary.py instead of writing it
again, and a name that is no label there is a template error, never an empty string on the page."""

import pytest
from django.template import Context, Template, TemplateSyntaxError

from celltypes.atlas.vocabulary import QC_NOT_HELD


def render(text: str) -> str:
    return Template("{% load celltypes %}" + text).render(Context())


def test_a_label_is_printed_as_the_vocabulary_writes_it():
    assert render('{% label "QC_NOT_HELD" %}') == QC_NOT_HELD
    assert render('{% label "NO_UPSTREAM" as words %}{{ words|capfirst }}.').startswith("No upstream is configured")


@pytest.mark.parametrize("name", ["NO_SUCH_LABEL", "COLOURS", "qc_not_held"])
def test_a_name_that_is_no_label_is_a_template_error(name):
    with pytest.raises(TemplateSyntaxError, match=name):
        render(f'{{% label "{name}" %}}')
