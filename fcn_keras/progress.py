"""How much progress Keras prints: a live bar on a terminal, plain lines everywhere else."""

import sys


def progress_verbosity(verbose="auto"):
    """Keras' `verbose` for the output at hand: "auto" gives 1 (a live progress bar) on a terminal or in a
    notebook, and 2 (one plain line per epoch, no escape codes or carriage returns) when standard output
    goes to a file or a pipe. Any other value is returned as it is.

    Keras' own "auto" draws the live bar everywhere on Linux, so a log file fills with
    the bar's redraws.

    Args:
        verbose: "auto", or a Keras verbosity (0, 1, 2).

    Returns:
        0, 1 or 2.

    Example:
        >>> progress_verbosity(0)
        0
    """
    if verbose != "auto":
        return verbose
    interactive = getattr(sys.stdout, "isatty", lambda: False)() or "ipykernel" in sys.modules
    return 1 if interactive else 2
