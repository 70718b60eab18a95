"""Adversarial robustness: attacks, honest robustness evaluation and defences."""

from skrepgeom.robustness._adversarial_training import AdversarialTrainingClassifier
from skrepgeom.robustness._aggregation import aggregate_logits
from skrepgeom.robustness._carso import CARSOClassifier
from skrepgeom.robustness._attacks import fgsm, pgd, square_attack

__all__ = [
    "AdversarialTrainingClassifier",
    "CARSOClassifier",
    "aggregate_logits",
    "fgsm",
    "pgd",
    "square_attack",
]
