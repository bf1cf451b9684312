"""apprentice: on-the-job shadowing in libraries, recorded and recognised.

Two ways in, one code path: :func:`create_app` builds the standalone app,
:class:`Apprentice` mounts the same pages into an existing Flask intranet.
"""

from apprentice.extension import Apprentice

__all__ = ["Apprentice", "create_app"]
__version__ = "0.1.0"


def create_app(config=None):
    """The standalone app (see :mod:`apprentice.app`)."""
    from apprentice.app import create_app as _create_app

    return _create_app(config)
