"""Customer ids in order: numpy's stable sort order, without sorting a million Python strings."""

from __future__ import annotations

import numpy as np


def id_order(ids) -> np.ndarray:
    """Stable sort order of customer ids: ``np.argsort(ids, kind="stable")``, faster for strings.

    String ids (a million of them took seconds to sort as Python objects) are sorted by Arrow,
    whose byte-wise UTF-8 order is Python's code-point order: the same positions
    (``tests/test_journey.py``). Other ids are sorted by numpy.

    Parameters
    ----------
    ids : array-like
        Customer ids (strings, numbers).

    Returns
    -------
    ndarray of intp

    Examples
    --------
    >>> id_order(["b", "a", "c"]).tolist()
    [1, 0, 2]
    """
    values = np.asarray(ids)
    if values.dtype == object and len(values) and all(isinstance(v, str) for v in values):
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.sort_indices(pa.array(values, type=pa.string())).to_numpy().astype(np.intp)
    return np.argsort(values, kind="stable")
