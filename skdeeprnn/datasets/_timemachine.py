"""H. G. Wells, *The Time Machine* (1895): a small text corpus, bundled with the package."""

import gzip
import re
from importlib import resources

__all__ = ["load_time_machine"]

_TIME_MACHINE_FILE = "timemachine.txt.gz"


def load_time_machine(*, lower=True, letters_only=True):
    """Load the text of H. G. Wells' *The Time Machine* as one string.

    The story only: Project Gutenberg eBook #35 without its header and license
    trailer (179,703 characters, UTF-8). The text is in the public domain and
    bundled with the package (no download). It is the corpus of the
    character-level language-model examples in "Dive into Deep Learning".

    Parameters
    ----------
    lower : bool, default=True
        Lowercase the text (``str.lower``).

    letters_only : bool, default=True
        Keep only the ASCII letters: every run of other characters (digits,
        punctuation, line breaks, curly quotes, non-ASCII letters such as
        "æ", whitespace) becomes a single space, and leading and trailing
        spaces are removed. With ``lower=True`` this leaves exactly the 26
        letters ``a``-``z`` and the space, as in "Dive into Deep Learning";
        with ``lower=False`` the capitals ``A``-``Z`` are kept too. If False,
        the text is returned as stored (line breaks, punctuation and all),
        only lowercased if ``lower=True``.

    Returns
    -------
    text : str
        The whole book as one string.

    Notes
    -----
    With the defaults the result has 174,215 characters and 32,895 words
    (4,597 distinct ones); ``lower=False, letters_only=False`` returns the
    stored file byte for byte, line endings included.

    References
    ----------
    .. [1] Wells, H. G. (1895). The Time Machine. Project Gutenberg eBook #35,
       https://www.gutenberg.org/ebooks/35 (public domain).
    .. [2] Zhang, A., Lipton, Z. C., Li, M., Smola, A. J. Dive into Deep
       Learning, section "Converting Raw Text into Sequence Data".
       https://d2l.ai

    Examples
    --------
    >>> from skdeeprnn.datasets import load_time_machine
    >>> text = load_time_machine()
    >>> text[:42]
    'the time machine an invention by h g wells'
    >>> len(text)
    174215
    >>> sorted(set(text)) == sorted(" abcdefghijklmnopqrstuvwxyz")
    True
    >>> raw = load_time_machine(lower=False, letters_only=False)
    >>> raw.lstrip()[:16]
    'The Time Machine'
    """
    source = resources.files(__package__).joinpath("data", _TIME_MACHINE_FILE)
    text = gzip.decompress(source.read_bytes()).decode("utf-8")
    if lower:
        text = text.lower()
    if letters_only:
        pattern = "[^a-z]+" if lower else "[^A-Za-z]+"
        text = re.sub(pattern, " ", text).strip(" ")
    return text
