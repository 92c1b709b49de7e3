"""The parameter table: defaults valid, ranges and choices enforced, PipelineConfig built from it."""

import pytest

from pinet_ros import params as P


def test_every_default_is_valid_and_names_unique():
    assert len(P.SPECS) == len(P.ALL_PARAMS)
    for spec in P.ALL_PARAMS:
        assert spec.validate(spec.default) is None, spec.name
        assert spec.description


@pytest.mark.parametrize("name, value, fragment", [
    ("backend", "yolo", "one of"),
    ("device", "gpu", "does not match"),
    ("score_threshold", 1.5, "<= 1.0"),
    ("score_threshold", float("nan"), "finite"),
    ("max_persons", 0, ">= 1"),
    ("max_persons", 2.5, "must be a int"),
    ("refine", "yes", "must be a bool"),
    ("ordering", "size", "one of"),
])
def test_bad_values_are_refused_with_a_reason(name, value, fragment):
    reasons = P.validate({name: value})
    assert len(reasons) == 1 and fragment in reasons[0] and name in reasons[0]


def test_int_accepted_for_float_and_unknown_name_refused():
    assert P.validate({"score_threshold": 1}) == []
    assert "unknown parameter" in P.validate({"nope": 1})[0]


def test_pipeline_config_uses_the_table():
    from pinet_ros.pipeline import PipelineConfig, PipelineError

    cfg = PipelineConfig.from_params({**P.defaults(), "score_threshold": 1, "sync_tolerance_s": 0.1})
    assert cfg.score_threshold == 1.0 and isinstance(cfg.score_threshold, float)
    with pytest.raises(PipelineError, match="max_persons"):
        PipelineConfig(max_persons=-1)
    names = {f for f in PipelineConfig.__dataclass_fields__}
    assert names == {p.name for p in P.PIPELINE_PARAMS}
