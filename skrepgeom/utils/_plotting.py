"""Checks shared by every ``*Display`` class."""

from sklearn.utils.validation import check_is_fitted

__all__ = ["check_display_estimator"]


def check_display_estimator(display_name, estimator, expected, attributes=None, *, hint=""):
    """Refuse an estimator of the wrong type by name, then check that it is fitted.

    Parameters
    ----------
    display_name : str
        Name of the display, for the message.
    estimator : object
        What the user passed to ``from_estimator``.
    expected : type or tuple of type
        Estimator classes the display can read.
    attributes : str or list of str, default=None
        Fitted attributes the display reads; ``None`` uses scikit-learn's default test.
    hint : str, default=""
        Appended to the type error (e.g. which other constructor to use).
    """
    expected = expected if isinstance(expected, tuple) else (expected,)
    if not isinstance(estimator, expected):
        names = " or ".join(cls.__name__ for cls in expected)
        raise TypeError(
            f"{display_name}.from_estimator needs a fitted {names}, "
            f"got {type(estimator).__name__}{hint}."
        )
    check_is_fitted(estimator, attributes)
