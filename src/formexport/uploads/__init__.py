"""Respondents' uploaded files, saved before their signed links die (``files=``).

File-upload and signature cells hold signed links that expire with the workspace's link
lifetime (24 hours by default; the JSON submissions list's after 10 minutes). With ``files=``
every file of every file-upload and signature field is saved under
``<files>/<form id>/<submission id>/<field id>/<file name>`` and the cells hold the saved
files' paths instead of the links:

* :mod:`.plan`: which files a typed export names, and where each one goes (names from the
  server are untrusted: none leads out of ``<files>``, two of one cell never share a name);
* :mod:`.destination`: a local folder or any fsspec URL;
* :mod:`.record`: the size and SHA-256 of every saved file, beside the files, so that a new
  run downloads only what is missing;
* :mod:`.fetch`: one file, resumed where an interrupted transfer stopped, with no credentials;
* :mod:`.renew`: fresh links from the JSON submissions list when the export's have expired;
* :mod:`.saving`: all of them, a few at a time, with progress, renewals and missing files;
* :mod:`.cells`: the frame, table or Parquet file with paths in place of links.
"""
