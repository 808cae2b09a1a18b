"""Choosing the backend with MAJLIS_CARE_BACKEND=module:Class."""
import pytest

from actions.api.care_backend import BackendConfigError, CareBackend, create_backend, get_backend
from actions.api.demo_backend import DemoCareBackend
from bot.config import Config


def test_default_is_the_demo_backend(tmp_path):
    backend = create_backend(Config(environ={"MAJLIS_DATA_DIR": str(tmp_path)}))
    assert isinstance(backend, DemoCareBackend)
    assert isinstance(backend, CareBackend)


def test_an_operator_backend_is_named_module_colon_class():
    backend = create_backend(Config(environ={"MAJLIS_CARE_BACKEND": "tests.actions.backends:FailingBackend"}))
    assert type(backend).__name__ == "FailingBackend"


@pytest.mark.parametrize("spec, reason", [
    ("tests.actions.backends", "expected 'package.module:ClassName'"),
    ("no.such.module:Backend", "cannot import"),
    ("tests.actions.backends:Missing", "has no class"),
    ("tests.actions.backends:NotABackend", "does not implement CareBackend"),
])
def test_a_bad_setting_fails_loudly(spec, reason):
    with pytest.raises(BackendConfigError) as error:
        create_backend(Config(environ={"MAJLIS_CARE_BACKEND": spec}))
    assert reason in str(error.value)
    assert error.value.spec == spec


def test_get_backend_is_built_once_per_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MAJLIS_DATA_DIR", str(tmp_path / "a"))
    first = get_backend()
    assert get_backend() is first
    monkeypatch.setenv("MAJLIS_DATA_DIR", str(tmp_path / "b"))
    assert get_backend() is not first
