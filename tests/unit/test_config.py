import pytest

from formexport import config
from formexport.errors import ConfigurationError
from formexport.redaction import Secret, redact_url


def test_token_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPNFORM_API_TOKEN", "12|secret")
    monkeypatch.setenv("OPNFORM_API_BASE_URL", "https://forms.example.com/api/")
    settings = config.resolve_settings()
    assert settings.token.reveal() == "12|secret"
    assert settings.base_url == "https://forms.example.com/api"


def test_explicit_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPNFORM_API_TOKEN", "env-token")
    settings = config.resolve_settings(token="Bearer arg-token", base_url=None)
    assert settings.token.reveal() == "arg-token"
    assert settings.base_url == "https://api.opnform.com"


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="OPNFORM_API_TOKEN"):
        config.resolve_settings()


@pytest.mark.parametrize(
    "url", ["api.opnform.com", "ftp://x.example", "https://", "https://h.example/api?x=1"]
)
def test_unusable_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        config.resolve_settings(token="t", base_url=url)


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        config.resolve_settings(token="t", base_url="http://forms.example.com/api")
    for host in ("127.0.0.1:8000", "127.0.0.2", "localhost:80", "[::1]:9"):
        assert config.resolve_settings(token="t", base_url=f"http://{host}").base_url


def test_secret_never_shows_itself() -> None:
    secret = Secret("12|abcdef")
    assert "abcdef" not in repr(secret)
    assert "abcdef" not in f"{secret} {secret!r}"
    settings = config.Settings(base_url="https://x.example", token=secret)
    assert "abcdef" not in repr(settings)


def test_redact_url_hides_signatures_only() -> None:
    url = "https://h.example/local/temp/a.csv?expires=1787480131&signature=9fabc"
    assert (
        redact_url(url)
        == "https://h.example/local/temp/a.csv?expires=1787480131&signature=REDACTED"
    )
    s3 = "http://127.0.0.2:9/b/k.csv?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Expires=60"
    redacted = redact_url(s3)
    assert "ff" not in redacted.split("X-Amz-Signature=")[1]
    assert "AK" not in redacted
    assert "X-Amz-Expires=60" in redacted
    assert redact_url("https://h.example/x") == "https://h.example/x"


def test_origin_compares_scheme_host_and_port() -> None:
    assert config.url_origin("https://API.example.com/api") == ("https", "api.example.com", 443)
    assert config.url_origin("http://127.0.0.1:81/x") == ("http", "127.0.0.1", 81)
