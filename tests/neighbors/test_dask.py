"""Scale-out: GridSearchCV over a TwoNN pipeline under the dask joblib backend."""

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skrepgeom.dimension import TwoNNDimension

pytest.importorskip("distributed")


def _two_regions():
    rng = np.random.default_rng(0)
    square = np.zeros((300, 8))
    square[:, :2] = rng.uniform(size=(300, 2))
    gauss = np.zeros((300, 8))
    gauss[:, 2:] = 0.1 * rng.normal(size=(300, 6))
    return np.vstack([square, gauss]), np.r_[np.zeros(300), np.ones(300)]


def _search():
    return GridSearchCV(
        make_pipeline(TwoNNDimension(random_state=0), LogisticRegression()),
        {"twonndimension__n_neighbors": [3, 10, 30]},
        cv=3,
        n_jobs=2,
    )


def test_gridsearch_dask_equals_loky(dask_client):
    X, y = _two_regions()
    with joblib.parallel_backend("loky"):
        loky = _search().fit(X, y)
    with joblib.parallel_backend("dask"):
        dask = _search().fit(X, y)
    assert dask.best_params_ == loky.best_params_
    assert dask.best_score_ == loky.best_score_
    np.testing.assert_array_equal(
        dask.cv_results_["mean_test_score"], loky.cv_results_["mean_test_score"]
    )
    assert loky.best_score_ > 0.9
