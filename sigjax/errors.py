"""Errors shared by modules at different levels (no sigjax imports here).

``DataError`` is raised by ``sigjax.data`` and by the dataset builders under
``sigjax.datasets`` that ``sigjax.data`` uses, so it lives below both;
``sigjax.data.DataError`` stays importable as before.
"""


class DataError(ValueError):
  """The data cannot be used (missing/empty folder, empty class, bad setting).

  The message names the folder or setting; ``launch.py`` turns it into a
  non-zero exit.
  """
