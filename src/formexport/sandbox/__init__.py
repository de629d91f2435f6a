"""An OpnForm emulator on loopback, for demos and offline tests (like moto for AWS).

It copies what OpnForm's *server code* does, not its docs: personal access tokens and
their route whitelist (the export status route answers ``404 {"message": ""}`` to
tokens), the synchronous CSV writer (≤ 1000 rows) and the queued job with its cache
entries (> 1000 rows), signed links on the API host or an S3-like host that expire,
Laravel rate limits, and the behaviour of each release from 1.8.0 to 2.4.0. Forms can go on
collecting while a test runs (:meth:`Sandbox.start_arrivals`), lose submissions to their
retention period, and list same-second submissions in a new order for every query.

>>> from formexport.sandbox import Sandbox, Fault
>>> with Sandbox() as sb:
...     sb.config.job_progression = "per_poll"
...     _ = sb.faults.add(Fault("download", cut_after=1000))
...     print(sb.base_url.startswith("http://127.0.0.1:"))
True

Nothing here imports the rest of ``formexport``.
"""

from formexport.sandbox.backend.faults import Fault
from formexport.sandbox.backend.settings import SandboxConfig
from formexport.sandbox.backend.traffic import ArrivalFeed
from formexport.sandbox.data.fields import make_field
from formexport.sandbox.platform.clock import Clock
from formexport.sandbox.platform.wire import RecordedRequest
from formexport.sandbox.server import Sandbox

__all__ = [
    "ArrivalFeed",
    "Clock",
    "Fault",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "make_field",
]
