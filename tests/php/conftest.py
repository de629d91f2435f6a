"""PHP itself as the oracle: one ``php`` process for the session writes rows with ``fputcsv``."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator, Sequence

import pytest

from tests.system_tools import require_tool

# OpnForm's background writer: an optional BOM (v2.3.0+), then fputcsv with default arguments
# (delimiter ",", enclosure '"', escape "\\", eol "\n"). One JSON request per line, one
# base64 answer per line.
_WRITER = r"""
while (($line = fgets(STDIN)) !== false) {
    $request = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    $h = fopen('php://memory', 'w+');
    if ($request['bom']) {
        fwrite($h, "\xEF\xBB\xBF");
    }
    foreach ($request['rows'] as $row) {
        fputcsv($h, $row);
    }
    rewind($h);
    echo base64_encode(stream_get_contents($h)), "\n";
    fclose($h);
    fflush(STDOUT);
}
"""


class PhpWriter:
    """Rows of strings written by PHP's own ``fputcsv``, many requests per process."""

    def __init__(self, php: str) -> None:
        self._process = subprocess.Popen(
            [php, "-n", "-r", _WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def write(self, rows: Sequence[Sequence[str]], *, bom: bool = False) -> bytes:
        """The bytes PHP writes for ``rows`` (a header and data rows alike)."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        request = json.dumps({"rows": [list(r) for r in rows], "bom": bom}) + "\n"
        self._process.stdin.write(request.encode())
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        assert answer, "php stopped answering"
        return base64.b64decode(answer)

    def close(self) -> None:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)
        self._process.stdout.close()


@pytest.fixture(scope="session")
def php() -> Iterator[PhpWriter]:
    """PHP's ``fputcsv`` (Debian's php-cli); skipped where missing, failed in CI."""
    writer = PhpWriter(require_tool("php", "php-cli"))
    yield writer
    writer.close()
