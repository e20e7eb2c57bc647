"""The command line: a thin click layer over the library (`searchsvc index|search|stats|serve`)."""

import sys


def _analysis_without_scipy() -> None:
    """Import the library's analysis (and with it nltk) with scipy hidden, then unhide it.

    nltk's package imports all of itself, nltk.metrics among it, which imports scipy.stats
    when scipy is installed (for a Fisher test we never call): 2 to 3 s of every start of
    the command and of `serve`, in an environment that has scipy (a data-science one, or
    this project's `.[bench]` extra, which pulls it for pytrec_eval). nltk guards that
    import (ImportError: the test is then unavailable), so it is skipped here; a later
    `import scipy` in this process works as usual. Only the command does this: the library
    leaves its host's imports alone.
    """
    if "nltk" in sys.modules or "scipy" in sys.modules:
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]  # import scipy: ImportError
    try:
        import searchsvc.analysis  # noqa: F401
    finally:
        if sys.modules.get("scipy", 0) is None:
            del sys.modules["scipy"]


_analysis_without_scipy()

from searchsvc.cli.commands import main  # noqa: E402

__all__ = ["main"]
