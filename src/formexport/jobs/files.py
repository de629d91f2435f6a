"""Where an export's files go, and how many rows and columns a written file holds."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import FormInfo
from formexport.reading import blocks
from formexport.reading.source import standard_file
from formexport.transfer.download import safe_filename

PathArg = str | PathLike[str]


def parquet_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    # Top-level columns: a matrix's struct or a list counts once, as in the DataFrame.
    return parquet.metadata.num_rows, len(parquet.schema_arrow)


def csv_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of an export's CSV file, read through (no header: no rows)."""
    header = blocks.read_header(path)
    if not header:
        return 0, 0
    source, _ = standard_file(path)
    batches = blocks.iter_batches(source, len(header), blocks.BLOCK_SIZE, threads=False)
    return sum(batch.num_rows for batch in batches), len(header)


def destination(path: PathArg, form: FormInfo) -> Path:
    """Where :meth:`ExportJob.download` writes: ``path``, or a file named after the form in it."""
    dest = Path(path).expanduser()
    if dest.is_dir():
        # The slug comes from the server: it must not lead out of the folder.
        dest = dest / f"{safe_filename(form.slug, str(form.id))}-submissions.csv"
    if dest.name in ("", ".", ".."):
        raise InvalidArgumentError(f"{path!r} is not a file path to write the export to.")
    return dest
