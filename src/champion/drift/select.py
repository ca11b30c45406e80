"""The default detector per column kind and sample size: one documented table.

====================  ==========================  ==================================
column kind           n < 1,000                   n >= 1,000
====================  ==========================  ==================================
numeric               ``ks`` (p < 0.05, after     ``wasserstein`` (normed, >= 0.1)
                      the correction)
categorical           ``chi2`` (p < 0.05, after   ``psi`` (>= 0.1)
                      the correction)
====================  ==========================  ==================================

``n`` is the smaller of the reference's and the current window's non-missing counts, since
the smaller sample sets the noise. Why this table:

* Small windows: an effect size measured on a few hundred rows is mostly noise, so the
  verdict must come from a test that knows the sample size. KS and the chi-square test of
  homogeneity are the classic two-sample tests; across columns their p-values go through
  Benjamini-Hochberg (``table.compare_table``), so a 100-column table does not alarm by chance.
* Large windows: every p-value test flags differences too small to matter (at 100,000 rows
  KS rejects a shift of 0.02 standard deviations), which is the "does it matter?" question
  the team asked. The verdict becomes an effect size with a meaning: the normed Wasserstein
  distance reaches 0.1 when the distribution moves by a tenth of a reference standard
  deviation; PSI 0.1 is the start of the ``moderate`` band that credit and attrition teams
  already read (0.25: ``significant``), and its 1e-4 floor makes a new category count.
* 1,000 is Evidently's switch point too, so results read alike after a migration; unlike
  Evidently, the small-sample verdicts are corrected for multiple testing.
"""

from __future__ import annotations

from champion.drift.profile import ColumnKind

__all__ = ["SMALL_SAMPLE", "default_test"]

SMALL_SAMPLE = 1_000


def default_test(kind: ColumnKind, n: int) -> str:
    """The registry name of the default detector for ``kind`` with ``n`` values.

    >>> default_test("numeric", 999), default_test("numeric", 1000)
    ('ks', 'wasserstein')
    >>> default_test("categorical", 10), default_test("categorical", 10**6)
    ('chi2', 'psi')
    """
    if kind == "numeric":
        return "ks" if n < SMALL_SAMPLE else "wasserstein"
    return "chi2" if n < SMALL_SAMPLE else "psi"
