import inspect

import formexport as fx
from formexport import errors


def test_all_is_sorted_and_complete() -> None:
    assert fx.__all__ == sorted(fx.__all__)
    for name in fx.__all__:
        assert hasattr(fx, name), name


def test_every_error_is_exported_at_top_level() -> None:
    for name in errors.__all__:
        assert getattr(fx, name) is getattr(errors, name)


def test_public_callables_have_docstrings() -> None:
    for name in fx.__all__:
        obj = getattr(fx, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_pinned_signatures() -> None:
    params = inspect.signature(fx.load_export).parameters
    assert list(params)[:8] == [
        "form", "columns", "exclude", "token", "base_url", "profile", "progress", "timeout",
    ]  # fmt: skip
    assert list(params)[8:] == [
        "cache", "max_age", "reattach", "naming", "dtype_backend", "values", "pseudonymize",
        "since", "status", "files",
    ]  # fmt: skip
    assert params["exclude"].default is None
    assert params["pseudonymize"].default is None
    assert params["cache"].default is False
    assert params["reattach"].default is True
    assert params["progress"].default == "auto"
    assert params["naming"].default == "name"
    assert params["dtype_backend"].default == "numpy_nullable"
    assert params["values"].default == "auto"
    assert params["since"].default is None
    assert params["status"].default is None
    assert params["files"].default is None
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[1:])
    for verb in (fx.export_to_parquet, fx.export_to_file, fx.download_export):
        assert list(inspect.signature(verb).parameters)[:2] == ["form", "path"]
        assert inspect.signature(verb).parameters["reattach"].default is True
    parquet = list(inspect.signature(fx.export_to_parquet).parameters)
    assert parquet[-6:] == ["naming", "values", "pseudonymize", "since", "status", "files"]
    # export_to_file takes export_to_parquet's keywords: the extension picks the format.
    assert list(inspect.signature(fx.export_to_file).parameters) == parquet
    assert list(inspect.signature(fx.download_export).parameters)[-3:] == [
        "since",
        "status",
        "files",
    ]
    assert list(inspect.signature(fx.start_export).parameters)[-1] == "files"
    assert inspect.signature(fx.export_forms).parameters["files"].default is False
    book = inspect.signature(fx.describe_form).parameters
    assert list(book) == ["form", "columns", "naming", "token", "base_url", "profile"]
    read = inspect.signature(fx.read_export).parameters
    assert list(read) == [
        "source", "form", "naming", "dtype_backend", "token", "base_url", "profile",
        "storage_options",
    ]  # fmt: skip
    assert read["form"].default is None
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(read.values())[2:])
    job = inspect.signature(fx.ExportJob.to_dataframe).parameters
    assert list(job) == ["self", "naming", "dtype_backend", "values", "pseudonymize", "files"]
    start = inspect.signature(fx.Client.start_export).parameters
    assert list(start)[:4] == ["self", "form", "columns", "submission_ids"]
    assert {"cache", "max_age", "reattach", "timeout", "since", "status", "exclude"} <= set(start)


def test_every_verb_and_the_client_take_a_profile() -> None:
    verbs = [
        fx.load_export, fx.export_to_parquet, fx.download_export, fx.start_export,
        fx.load_export_async, fx.list_forms, fx.describe_form, fx.export_forms, fx.Client,
        fx.ExportJob.attach, fx.whoami, fx.logout, fx.login,
    ]  # fmt: skip
    for verb in verbs:
        profile = inspect.signature(verb).parameters["profile"]
        assert profile.default is None, verb
        assert profile.kind is inspect.Parameter.KEYWORD_ONLY, verb
    login = inspect.signature(fx.login).parameters
    assert list(login) == ["token", "base_url", "profile", "allow_insecure_http"]
    assert list(inspect.signature(fx.logout).parameters) == ["profile"]


def test_the_dataset_readers_take_the_destination_and_forms() -> None:
    for reader in (fx.read_dataset, fx.read_codebook):
        params = inspect.signature(reader).parameters
        assert list(params) == ["dest", "forms", "storage_options"], reader
        assert params["forms"].default is None
        assert params["storage_options"].kind is inspect.Parameter.KEYWORD_ONLY
    attach = inspect.signature(fx.ExportJob.attach).parameters
    assert attach["columns"].default is None
    assert attach["columns"].kind is inspect.Parameter.KEYWORD_ONLY


def test_importing_formexport_does_not_import_pandas_or_pyarrow() -> None:
    import subprocess
    import sys

    code = "import sys, formexport; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_formexport_loads_no_http_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, formexport; "
        "print(sorted(m for m in ('requests', 'urllib3', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_names_resolve_and_unknown_names_raise() -> None:
    import pytest

    assert fx.load_export.__module__ == "formexport.verbs"
    assert fx.ExportJob.__name__ == "ExportJob"
    assert set(fx.__all__) <= set(dir(fx))
    with pytest.raises(AttributeError, match="no_such_thing"):
        fx.no_such_thing  # noqa: B018


def test_the_command_lines_formats_are_the_librarys() -> None:
    from formexport.cli.parser import FILE_FORMATS as CHOICES
    from formexport.jobs.output import FILE_FORMATS

    assert tuple(FILE_FORMATS) == CHOICES
