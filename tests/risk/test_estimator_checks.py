"""scikit-learn's conformance suite (``check_estimator``) over the risk estimators.

Checks that do not apply are listed with the reason, as scikit-learn does for its own
estimators: gradient-boosted trees bin each feature on the training data, so weighting
a row is not exactly the same as repeating it (scikit-learn marks the same check as an
expected failure for HistGradientBoostingClassifier and CalibratedClassifierCV).
The PARR-like baseline is left out: it reads three fixed columns (age, sex, prior
admissions) by position, so the suite's one- and two-column data do not fit it.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from commissioning.risk.model import EmergencyAdmissionRiskModel

NOT_APPLICABLE = {
    "check_sample_weight_equivalence_on_dense_data": (
        "trees bin features on the data: a weight is not the same as a repeated row"
    ),
}


def expected_failures(estimator: Any) -> dict[str, str]:
    return NOT_APPLICABLE if isinstance(estimator, EmergencyAdmissionRiskModel) else {}


@parametrize_with_checks(
    [
        EmergencyAdmissionRiskModel(max_iter=10, min_samples_leaf=5, random_state=0),
        EmergencyAdmissionRiskModel(
            max_iter=10, min_samples_leaf=5, calibration="sigmoid", random_state=0
        ),
    ],
    expected_failed_checks=expected_failures,
)
def test_sklearn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)
