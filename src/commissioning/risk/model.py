"""Risk models as scikit-learn estimators: the main model and a PARR-like baseline.

Both follow scikit-learn's conventions (``__init__`` only stores parameters, ``fit``
returns ``self``, learned attributes end in ``_``, randomness through
``random_state``), so calibration, pipelines and cross-validation work unchanged; the
conformance suite (``check_estimator``) runs over them in ``tests/risk``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits


class _ProbabilityClassifier(ClassifierMixin, BaseEstimator):
    """Shared by the risk estimators: the class is the most probable one, and missing
    feature values are allowed (the features leave them where data are absent)."""

    classes_: npt.NDArray[Any]

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:  # pragma: no cover
        raise NotImplementedError

    def predict(self, X: Any) -> npt.NDArray[Any]:
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class EmergencyAdmissionRiskModel(_ProbabilityClassifier):
    """Gradient-boosted trees for the chance of an emergency admission next year.

    A :class:`~sklearn.ensemble.HistGradientBoostingClassifier` (log loss, so its
    probabilities start out close to calibrated) over the person-year features of
    :mod:`commissioning.risk.features`; missing values (frailty under 65) are handled
    natively. With ``calibration`` set to ``"isotonic"`` or ``"sigmoid"`` (Platt) the
    trees are recalibrated by :class:`~sklearn.calibration.CalibratedClassifierCV` with
    ``cv`` folds. ``n_threads`` caps the OpenMP threads of the trees (None: all cores);
    one thread is the default because busy-waiting threads slow a shared machine badly.
    The other parameters are those of the boosted trees.
    """

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        calibration: Literal["isotonic", "sigmoid"] | None = None,
        cv: int = 3,
        n_threads: int | None = 1,
        random_state: int | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.n_threads = n_threads
        self.random_state = random_state

    def _trees(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )

    def fit(
        self, X: Any, y: Any, sample_weight: npt.ArrayLike | None = None
    ) -> EmergencyAdmissionRiskModel:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.calibration is None:
            model: Any = self._trees()
        elif self.calibration in ("isotonic", "sigmoid"):
            model = CalibratedClassifierCV(self._trees(), method=self.calibration, cv=self.cv)
        else:
            raise ValueError(
                f"calibration must be None, 'isotonic' or 'sigmoid', got {self.calibration!r}"
            )
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            model.fit(X, y, sample_weight=sample_weight)
        self.model_ = model
        trees = [c.estimator for c in getattr(model, "calibrated_classifiers_", [])] or [model]
        self.n_iter_ = max(int(t.n_iter_) for t in trees)
        return self

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return np.asarray(self.model_.predict_proba(X), dtype=np.float64)


class ParrLikeBaseline(_ProbabilityClassifier):
    """A PARR-like baseline: logistic regression on age, sex and prior admissions.

    In the spirit of the Patients at Risk of Re-hospitalisation tool (Billings et al.
    2006), reduced to what a commissioner can always compute: the columns given by
    ``age_column``, ``male_column`` and ``admissions_column`` (indices into ``X``) are
    turned into age/100, (age/100)², male, prior emergency admissions (capped at 5) and
    any prior admission. Other columns are ignored.
    """

    def __init__(
        self,
        age_column: int = 0,
        male_column: int = 1,
        admissions_column: int = 2,
        C: float = 1.0,
    ) -> None:
        self.age_column = age_column
        self.male_column = male_column
        self.admissions_column = admissions_column
        self.C = C

    def _design(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        age = np.nan_to_num(X[:, self.age_column]) / 100.0
        male = np.nan_to_num(X[:, self.male_column])
        prior = np.nan_to_num(np.clip(X[:, self.admissions_column], 0, 5))
        return np.column_stack([age, age**2, male, prior, (prior > 0).astype(np.float64)])

    def fit(self, X: Any, y: Any) -> ParrLikeBaseline:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000).fit(self._design(X), y)
        return self

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.asarray(self.model_.predict_proba(self._design(X)), dtype=np.float64)
