"""String-theory geometry with numpy alone: CICY threefolds, line bundles, slope stability.

Lecture "String Theory meets Machine Learning", application "Learning Stability":
eq. (33) the bicubic configuration, eq. (34) the slope mu = d_ijk q^i t^j t^k, eq. (35)
the stability label.  See :mod:`physics.cicy`, :mod:`physics.stability`,
:mod:`physics.datasets` and :mod:`physics.loaders`.
"""

from .cicy import CICY, topological_data
from .datasets import StabilityDataset, load_dataset, make_stability_dataset
from .loaders import (
    CICYRecord,
    LineBundleTable,
    configuration_tensor,
    load_cicy_json,
    load_cicy_text,
    load_line_bundle_cohomology,
    pad_configuration,
    parse_cicy_text,
    permute_configuration,
)
from .stability import is_polystable_sum, is_stable, pycicy_quick_rule, slope, slope_matrix

__all__ = [
    "CICY",
    "CICYRecord",
    "LineBundleTable",
    "StabilityDataset",
    "configuration_tensor",
    "is_polystable_sum",
    "is_stable",
    "load_cicy_json",
    "load_cicy_text",
    "load_dataset",
    "load_line_bundle_cohomology",
    "make_stability_dataset",
    "pad_configuration",
    "parse_cicy_text",
    "permute_configuration",
    "pycicy_quick_rule",
    "slope",
    "slope_matrix",
    "topological_data",
]
