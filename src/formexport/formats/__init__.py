"""Files for colleagues: an export's typed DataFrame written as Excel, Stata or SPSS files.

Each module writes one format from the frame that :func:`~formexport.load_export` returns,
using the codebook it carries in ``df.attrs["columns"]`` (labels, the form's option order, the
Stata and SPSS name of each column): ``excel`` (``.xlsx``, openpyxl), ``stata`` (``.dta``,
pandas), ``spss`` (``.sav``, pyreadstat, the ``spss`` extra). ``columns`` says how each column
is written as text or dates, ``labelled`` prepares the labelled frame Stata and SPSS share.
Parquet and CSV files are not made from a frame: the export is streamed into them
(:mod:`formexport.jobs.output` maps each file name to its writer).
"""
