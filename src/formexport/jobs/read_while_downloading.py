"""Reading an export while it downloads, and the one place that falls back to the finished file.

The download runs in a thread and writes the file as usual; a :class:`~formexport.transfer.tee.Tee`
hands each chunk to this thread, which reads it through
:func:`formexport.reading.source.open_export`, so parsing overlaps the transfer and memory stays
flat. A stream can be read once, in order, and some exports cannot be read that way:

* the host restarts the transfer from the first byte, or an expired link brings a fresh export
  (:class:`~formexport.transfer.tee.StreamBroken`): the bytes read so far belong to a file that
  will not be the final one;
* a column turns out not to fit its field's type halfway through
  (:class:`~formexport.reading.typed_reader.Restart`): every block must be read again as text;
* a row is longer than a block (:class:`~formexport.reading.blocks.BlockTooSmall`): the blocks
  must be read again, larger;
* the bytes are not what ``fputcsv`` writes
  (:class:`~formexport.reading.fputcsv.DamageNotLocated`): records are not counted while
  streaming, so the finished file is read to name the damaged one.

In each case the reader stops, the download runs on to its end, and the finished file is read
instead. Any other error, or Ctrl-C, stops the download too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from formexport import config
from formexport.reading.blocks import BlockTooSmall
from formexport.reading.fputcsv import DamageNotLocated
from formexport.reading.typed_reader import Restart
from formexport.transfer.tee import ChunkPipe, DownloadCancelled, StreamBroken, Tee

T = TypeVar("T")

#: What makes a streamed read give way to the finished file.
FALLBACK = (StreamBroken, Restart, BlockTooSmall, DamageNotLocated)


def read_while_downloading(
    download: Callable[[Tee], None],
    read_stream: Callable[[Iterator[bytes]], T],
    read_file: Callable[[], T],
) -> T:
    """``read_stream`` over the chunks ``download`` writes, or ``read_file`` once it is done.

    Parameters
    ----------
    download : callable
        Downloads the whole file, handing every chunk to the given tee; run in a thread.
    read_stream : callable
        Reads the chunks as they arrive.
    read_file : callable
        Reads the finished file, when the stream could not be used (see the module's notes).
    """
    pipe = ChunkPipe()
    tee = Tee(pipe)
    failure: list[BaseException] = []

    def fetch() -> None:
        try:
            download(tee)
            pipe.close()
        except DownloadCancelled:
            pass
        except BaseException as exc:  # handed to the reading thread, which re-raises it
            failure.append(exc)
            pipe.close(exc)

    thread = threading.Thread(target=fetch, name="formexport-download", daemon=True)
    thread.start()
    try:
        return read_stream(iter(pipe))
    except FALLBACK:
        pipe.abandon()  # the download goes on to its end: the file is read next
        thread.join()
        if failure and not isinstance(failure[0], StreamBroken):
            raise failure[0] from None
    except BaseException:
        # An error or Ctrl-C: stop the download too, without waiting on a slow host.
        tee.cancel()
        thread.join(timeout=config.CANCEL_GRACE)
        raise
    return read_file()
