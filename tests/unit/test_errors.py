from formexport import errors


def test_every_error_shares_one_root() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls is errors.ExportInterrupted:
            continue
        assert issubclass(cls, errors.FormExportError), name


def test_http_errors_nest_as_documented() -> None:
    assert issubclass(errors.ExportJobNotFoundError, errors.NotFoundError)
    assert issubclass(errors.StatusUnavailableError, errors.NotFoundError)
    for cls in (
        errors.AuthenticationError,
        errors.PermissionDeniedError,
        errors.NotFoundError,
        errors.ValidationError,
        errors.RateLimitError,
    ):
        assert issubclass(cls, errors.APIError)


def test_interrupt_is_not_swallowed_by_except_exception() -> None:
    assert not issubclass(errors.ExportInterrupted, Exception)
    assert issubclass(errors.ExportInterrupted, KeyboardInterrupt)


def test_error_attributes() -> None:
    err = errors.ValidationError("bad", errors={"columns": ("x",)})
    assert err.status_code == 422
    assert err.errors == {"columns": ["x"]}
    assert errors.RateLimitError("slow", retry_after=7.0).retry_after == 7.0
    failed = errors.ExportFailedError("f", job_id="j", error_message="No submissions to export")
    assert (failed.job_id, failed.error_message) == ("j", "No submissions to export")
    assert issubclass(errors.InvalidArgumentError, ValueError)
