"""The console of a job: one progress display; library logs go to a file.

``setup(workdir, name)`` (called by launch.py and ablations/run.py) sends
every log record to ``<workdir>/<name>.log`` in absl's format and keeps the
console for a person: sigjax's own messages (INFO and up, without absl's
prefix; warnings and errors say so) and the ``Progress`` display. What
libraries log (Orbax, TensorFlow, JAX, absl, clu; below CRITICAL) stays in
the file. With ``-v 1`` (``--verbosity=1``) the console
shows every record again, as absl prints it.

``Progress(total, ...)`` is one job's progress: on a terminal one line
redrawn in place (a bar, done/total, the latest metrics, images per second
and the estimated time left); otherwise (CI logs, a file, a pipe) a plain
line at each ``update(..., log=True)``. Library code uses it without
``setup`` too (tests, notebooks): it writes to ``sys.stderr``.

A record logged with ``extra=console.FILE_ONLY`` goes to the log file only
(e.g. the per-step metric lines that the progress display replaces).
"""

from __future__ import annotations

import logging as pylogging
import math
import os
import shutil
import sys
import threading
import time
from typing import Optional

from absl import logging

FILE_ONLY = {"console": False}

_PKG = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_PKG)
# Records from these files are "ours" (shown on the console by default).
_OWN = (_PKG + os.sep, os.path.join(_ROOT, "launch.py"),
        os.path.join(_ROOT, "ablations") + os.sep)

_clock = time.time  # what Progress measures with (tests replace it)
_lock = threading.RLock()
_live: list = []  # the Progress drawn in place on the terminal (0 or 1)
_installed: dict = {}  # what setup() added to the root logger


def is_own(record: pylogging.LogRecord) -> bool:
  """Whether ``record`` was logged by sigjax (not by a library)."""
  return os.path.abspath(record.pathname or "").startswith(_OWN)


def shown_on_console(record: pylogging.LogRecord, verbosity: int) -> bool:
  """The console's rule: everything at ``verbosity >= 1``; else sigjax's
  INFO and up (unless marked ``FILE_ONLY``) and libraries' CRITICAL lines
  only: their errors come back as exceptions or are explained by sigjax's
  own message (e.g. Orbax's "Failed to read Metadata file" before the
  checkpoint is reported unreadable), and the log file has them all."""
  if verbosity >= 1:
    return True
  if getattr(record, "console", True) is False:
    return False
  if is_own(record):
    return record.levelno >= pylogging.INFO
  return record.levelno >= pylogging.CRITICAL


def _stderr():
  return sys.stderr


def _write_above_bar(text: str, stream=None) -> None:
  """Writes ``text`` (a full line) to the console without breaking a bar."""
  stream = stream or _stderr()
  with _lock:
    bar = _live[0] if _live else None
    if bar is not None and bar.drawn:
      bar.clear_line()
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()
    if bar is not None and bar.drawn:
      bar.redraw()


class _ConsoleHandler(pylogging.Handler):
  """Writes the records the console shows to stderr, above a live bar."""

  def __init__(self, verbosity: int):
    super().__init__()
    self.verbosity = verbosity
    self._absl_format = logging.PythonFormatter()

  def emit(self, record):
    try:
      if not shown_on_console(record, self.verbosity):
        return
      if self.verbosity >= 1:
        text = self._absl_format.format(record)
      else:
        text = record.getMessage()
        if record.levelno >= pylogging.ERROR:
          text = "error: " + text
        elif record.levelno >= pylogging.WARNING:
          text = "warning: " + text
      _write_above_bar(text)
    except Exception:  # pylint: disable=broad-except
      self.handleError(record)


class _FileFormatter(pylogging.Formatter):
  """absl's line prefix (level, time, thread, file:line) on every record."""

  def format(self, record):
    return logging.get_absl_log_prefix(record) + super().format(record)


def verbosity() -> int:
  """absl's ``--verbosity``/``-v`` (0 when the flags are not parsed)."""
  try:
    return max(0, int(logging.get_verbosity()))
  except Exception:  # pylint: disable=broad-except
    return 0


def expand_verbose_flag(argv):
  """``argv`` with a bare ``-v``/``--verbosity`` (no number) as ``-v 1``."""
  out = list(argv)
  for i, arg in enumerate(out):
    if arg in ("-v", "--verbosity", "--v"):
      nxt = out[i + 1] if i + 1 < len(out) else ""
      if not nxt.lstrip("-").isdigit():
        out[i] = "--verbosity=1"
  return out


def argv_verbosity(argv) -> int:
  """The verbosity that ``argv`` asks for, read before absl parses it (for
  settings that must be made before TensorFlow is imported)."""
  v = 0
  argv = expand_verbose_flag(argv)
  for i, arg in enumerate(argv):
    for name in ("-v", "--v", "--verbosity"):
      value = None
      if arg.startswith(name + "="):
        value = arg[len(name) + 1:]
      elif arg == name and i + 1 < len(argv):
        value = argv[i + 1]
      if value is not None and value.lstrip("-").isdigit():
        v = int(value)
  return v


def setup(workdir: str, name: str, level: Optional[int] = None) -> str:
  """Routes logging for a job that writes in ``workdir`` (see the module
  docstring); returns the log file's path. ``level`` overrides absl's
  ``--verbosity``. Calling it again replaces the previous setup."""
  v = verbosity() if level is None else int(level)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(os.path.abspath(workdir), f"{name}.log")
  root = pylogging.getLogger()
  teardown()
  file_handler = pylogging.FileHandler(path, mode="a", encoding="utf-8")
  file_handler.setFormatter(_FileFormatter())
  console_handler = _ConsoleHandler(v)
  absl_handler = logging.get_absl_handler()
  had_absl = absl_handler in root.handlers
  if had_absl:
    root.removeHandler(absl_handler)
  root.addHandler(file_handler)
  root.addHandler(console_handler)
  _installed.update(file=file_handler, console=console_handler,
                    absl=absl_handler if had_absl else None,
                    level=root.level)
  # INFO (and absl's vlog levels above 1) reach the handlers; the console
  # handler picks what a person sees.
  root.setLevel(pylogging.INFO if v <= 0 else pylogging.DEBUG - (v - 1))
  logging.get_absl_logger().setLevel(pylogging.NOTSET)
  pylogging.captureWarnings(True)  # Python warnings of libraries: the file
  return path


def teardown() -> None:
  """Undoes ``setup`` (closes the log file, restores absl's handler)."""
  root = pylogging.getLogger()
  for key in ("file", "console"):
    handler = _installed.pop(key, None)
    if handler is not None:
      root.removeHandler(handler)
      handler.close()
  absl_handler = _installed.pop("absl", None)
  if absl_handler is not None and absl_handler not in root.handlers:
    root.addHandler(absl_handler)
  if "level" in _installed:
    root.setLevel(_installed.pop("level"))
    pylogging.captureWarnings(False)


def format_duration(seconds: float) -> str:
  """42s, 4m12s, 1h05m."""
  if not math.isfinite(seconds) or seconds < 0:
    return "?"
  s = int(round(seconds))
  if s < 60:
    return f"{s}s"
  if s < 3600:
    return f"{s // 60}m{s % 60:02d}s"
  return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _fmt_value(v) -> str:
  if isinstance(v, float):
    return f"{v:.4g}" if math.isfinite(v) else str(v)
  return str(v)


class Progress:
  """The progress of one job over ``total`` units (steps, epochs, runs).

  ``update(done, metrics, log)`` sets the units done so far (absolute, so a
  resumed run passes ``start``), optionally the metrics to show, and ``log``
  at the points where a plain line is due (every ``log_every`` steps). Rates
  and the time left count from the first update when ``warmup`` (the first
  step includes compilation) or from construction otherwise.
  """

  def __init__(self, total: int, *, title: str = "", unit: str = "step",
               start: int = 0, items_per_unit: Optional[float] = None,
               item_name: str = "img", group: Optional[tuple] = None,
               warmup: bool = True, live: Optional[bool] = None,
               enabled: bool = True, stream=None):
    self.total = max(int(total), 0)
    self.title, self.unit = title, unit
    self.done = self.start = int(start)
    self.items_per_unit, self.item_name = items_per_unit, item_name
    self.group = group  # (units per group, group name), e.g. (40, "epoch")
    self.warmup = warmup
    self.enabled = enabled
    self._stream = stream
    if live is None:
      s = self.stream
      live = bool(getattr(s, "isatty", lambda: False)()) and os.environ.get(
          "TERM", "") != "dumb"
    self.live = live and enabled
    self.metrics: dict = {}
    self.t_begin = _clock()
    self._t0 = None if warmup else self.t_begin
    self._done0 = self.start
    self._last_draw = 0.0
    self.drawn = False
    self.closed = False
    if self.live:
      with _lock:
        for other in _live:  # an outer display gives the line to this one
          other.finish_line()
        _live[:] = [self]

  @property
  def stream(self):
    return self._stream or _stderr()

  # ------------------------------------------------------------ numbers --

  def rate(self) -> Optional[float]:
    """Units per second since the first update (or construction)."""
    if self._t0 is None or self.done <= self._done0:
      return None
    dt = _clock() - self._t0
    # Not from a blink: the first steps after compiling are dispatched
    # faster than they run.
    return (self.done - self._done0) / dt if dt >= 0.5 else None

  def seconds_left(self) -> Optional[float]:
    r = self.rate()
    if not r:
      return None
    return max(self.total - self.done, 0) / r

  def _count(self) -> str:
    if self.group:
      size, name = self.group
      n_groups = max(1, math.ceil(self.total / size))
      current = min(n_groups, self.done // size + (self.done % size > 0))
      return f"{name} {current}/{n_groups}"
    return f"{self.unit} {self.done}/{self.total}"

  def _speed_and_time(self) -> list:
    out = []
    r = self.rate()
    if r and self.items_per_unit:
      out.append(f"{r * self.items_per_unit:.1f} {self.item_name}/s")
    elif r and not self.items_per_unit:
      per = 1.0 / r
      out.append(f"{format_duration(per)}/{self.unit}" if per >= 1
                 else f"{r:.2f} {self.unit}s/s")
    if self.done >= self.total:
      out.append(f"took {format_duration(_clock() - self.t_begin)}")
    else:
      left = self.seconds_left()
      out.append(f"{format_duration(left)} left" if left is not None
                 else "time left: measuring")
    return out

  def _metrics(self) -> list:
    return [f"{k} {_fmt_value(v)}" for k, v in self.metrics.items()]

  def line(self) -> str:
    """The plain (non-terminal) line: count, metrics, speed, time left."""
    pct = 100.0 * self.done / self.total if self.total else 100.0
    head = f"{self.title}: " if self.title else ""
    return (f"{head}{self._count()} ({pct:.0f}%)  "
            + "  ".join(self._metrics() + self._speed_and_time()))

  def bar_line(self, width: Optional[int] = None) -> str:
    """The terminal line: title, a 20-wide bar, count, time left and speed
    (kept at the front), then the metrics, cut at the terminal's width."""
    width = width or shutil.get_terminal_size((100, 20)).columns
    frac = self.done / self.total if self.total else 1.0
    head = f"{self.title} " if self.title else ""
    n = 20 if width >= 80 else 10 if width >= 50 else 0
    bar = ""
    if n:
      full = int(round(frac * n))
      bar = "[" + "#" * full + "-" * (n - full) + "] "
    text = (f"{head}{bar}{self._count()} {100 * frac:3.0f}% | "
            + " | ".join(self._speed_and_time() + self._metrics()))
    return text[:width - 1]

  # ------------------------------------------------------------ drawing --

  def clear_line(self):
    self.stream.write("\r\x1b[K")

  def redraw(self):
    self.stream.write("\r\x1b[K" + self.bar_line())
    self.stream.flush()
    self.drawn = True

  def finish_line(self):
    """Ends the bar's line (keeps it on screen) and stops redrawing it."""
    with _lock:
      if self.drawn:
        self.stream.write("\n")
        self.stream.flush()
      self.drawn = False
      if self in _live:
        _live.remove(self)
      self.live = False

  def update(self, done: int, metrics: Optional[dict] = None,
             log: bool = False) -> None:
    if not self.enabled or self.closed:
      return
    now = _clock()
    if self._t0 is None:  # the first update ends the warm-up (compile)
      self._t0, self._done0 = now, int(done)
    self.done = int(done)
    if metrics:
      self.metrics = dict(metrics)
    with _lock:
      if self.live:
        if log or self.done >= self.total or now - self._last_draw >= 0.1:
          self._last_draw = now
          self.redraw()
      elif log:
        _write_above_bar(self.line(), self.stream)

  def close(self, message: Optional[str] = None) -> None:
    """Ends the display (a final redraw on a terminal), then ``message``."""
    if not self.enabled or self.closed:
      return
    with _lock:
      if self.live:
        self.redraw()
        self.finish_line()
      self.closed = True
      if message:
        _write_above_bar(message, self.stream)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
    return False
