"""The sample's tests: deliberately blind to the boundary, so some mutants survive."""
from tests.bench.mutation_sample.adult import is_adult, label


def test_adults_and_children() -> None:
    assert is_adult(30) and not is_adult(5)
    assert label(30) == "adult" and label(5) == "child"
