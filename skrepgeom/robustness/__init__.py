"""Adversarial robustness: attacks, honest robustness evaluation and defences."""

from skrepgeom.robustness._adversarial_training import AdversarialTrainingClassifier
from skrepgeom.robustness._aggregation import aggregate_logits
from skrepgeom.robustness._carso import CARSOClassifier
from skrepgeom.robustness._display import ReconstructionDisplay, RobustnessCurveDisplay
from skrepgeom.robustness._metrics import (
    GradientMaskingReport,
    check_gradient_masking,
    make_robust_scorer,
    robust_accuracy,
)
from skrepgeom.robustness._attacks import fgsm, pgd, square_attack

__all__ = [
    "AdversarialTrainingClassifier",
    "CARSOClassifier",
    "GradientMaskingReport",
    "ReconstructionDisplay",
    "RobustnessCurveDisplay",
    "aggregate_logits",
    "check_gradient_masking",
    "fgsm",
    "make_robust_scorer",
    "pgd",
    "robust_accuracy",
    "square_attack",
]
