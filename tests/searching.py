"""The fixed portfolio through the search's one settings object, for tests that pose their own starts."""

from ocp.search.multistart import multistart
from ocp.search.settings import SearchSettings
from ocp.search.strategies import Initialization


def portfolio(problem, method, starts, options=None, *, init=None, first_start=(), **settings):
    """Every start of ``starts`` with every strategy of ``init`` (first_order by default), start 0 also with
    ``first_start``; ``settings``: the rest of `SearchSettings` (workers, max_iter, patience, ...)."""
    if init is None:
        init = Initialization()
    strategies = (init,) if isinstance(init, Initialization) else tuple(init)
    chosen = SearchSettings(effort="portfolio", strategies=strategies, first_start=tuple(first_start), **settings)
    return multistart(problem, method, chosen, options, starts=starts)
