"""A tiny module for the mutation script's own test (tests/bench/test_mutation_script.py)."""

AGE_OF_MAJORITY = 18


def is_adult(age: int) -> bool:
    return age >= AGE_OF_MAJORITY


def label(age: int) -> str:
    return "adult" if is_adult(age) else "child"
