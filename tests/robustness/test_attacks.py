import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from skrepgeom.robustness import AdversarialTrainingClassifier, fgsm, pgd, square_attack
from skrepgeom.robustness._attacks import dlr_loss


class _Binary(torch.nn.Module):
    """Logits (0, w.x + b): class 1 iff w.x + b > 0."""

    def __init__(self, w, b):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.as_tensor(b, dtype=torch.float64))

    def forward(self, x):
        s = x @ self.w + self.b
        return torch.stack([torch.zeros_like(s), s], dim=1)


@pytest.fixture(scope="module")
def linear_problem():
    X, y = make_classification(200, 10, random_state=0)
    rng = np.random.RandomState(1)
    w = rng.normal(size=10) * 0.5
    b = 0.1
    # labels the model gets right, so the closed form is a pure distance question
    y = (X @ w + b > 0).astype(int)
    return X, y, w, b


def _closed_form_robust(X, y, w, b, eps, dual_norm):
    margin = np.abs(X @ w + b) / np.linalg.norm(w, dual_norm)
    correct = (X @ w + b > 0).astype(int) == y
    return np.mean(correct & (margin > eps))


def _predict(model, X):
    with torch.no_grad():
        return model(torch.as_tensor(X)).argmax(dim=1).numpy()


@pytest.mark.parametrize("eps", [0.05, 0.15, 0.3])
def test_pgd_linf_matches_closed_form(linear_problem, eps):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    X_adv = pgd(model, X, y, eps=eps, steps=20, clip_range=None, random_state=0)
    robust = np.mean(_predict(model, X_adv) == y)
    expected = _closed_form_robust(X, y, w, b, eps, 1)
    assert expected < 1.0
    assert abs(robust - expected) <= 1 / len(X) + 1e-12
    assert np.abs(X_adv - X).max() <= eps + 1e-12


@pytest.mark.parametrize("eps", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_l2_matches_closed_form(linear_problem, eps, random_start):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    # from a random start the default step (2.5 eps / steps) converges slowly
    step_size = None if not random_start else eps / 4
    X_adv = pgd(model, X, y, eps=eps, norm="l2", steps=20, random_start=random_start,
                step_size=step_size, clip_range=None, random_state=0)
    robust = np.mean(_predict(model, X_adv) == y)
    expected = _closed_form_robust(X, y, w, b, eps, 2)
    assert expected < 1.0
    assert abs(robust - expected) <= 1 / len(X) + 1e-12
    assert np.linalg.norm(X_adv - X, axis=1).max() <= eps + 1e-9


@pytest.mark.parametrize("eps", [0.05, 0.15, 0.3])
def test_fgsm_linf_is_exact_for_a_linear_model(linear_problem, eps):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    X_adv = fgsm(model, X, y, eps=eps, clip_range=None)
    # the loss grows along +sign(w) for class 0 and -sign(w) for class 1
    direction = np.where(y[:, None] == 1, -1.0, 1.0) * np.sign(w)[None, :]
    np.testing.assert_allclose(X_adv, X + eps * direction, atol=1e-12)
    expected = _closed_form_robust(X, y, w, b, eps, 1)
    assert np.mean(_predict(model, X_adv) == y) == expected


def _mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    ).to(dtype)


def _reference_pgd(model, x, y, eps, steps, alpha, norm):
    x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x_adv), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, x_adv)
        step = g.sign() if norm == "linf" else g / (g.norm(dim=1, keepdim=True) + 1e-12)
        delta = x_adv.detach() + alpha * step - x
        if norm == "linf":
            delta = delta.clamp(-eps, eps)
        else:
            delta = delta * torch.clamp(eps / (delta.norm(dim=1, keepdim=True) + 1e-12), max=1)
        x_adv = (x + delta).clamp(0, 1)
    return x_adv.detach()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_equals_reference_without_random_start(norm):
    model = _mlp()
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, (40, 6))
    y = rng.randint(0, 3, 40)
    eps, steps = 0.2, 7
    X_adv = pgd(model, X, y, eps=eps, norm=norm, steps=steps, random_start=False)
    ref = _reference_pgd(model, torch.as_tensor(X), torch.as_tensor(y), eps, steps,
                         2.5 * eps / steps, norm)
    np.testing.assert_allclose(X_adv, ref.numpy(), atol=1e-6)


class _Noisy(torch.nn.Module):
    """A stochastic model: multiplicative input noise from its own generator."""

    stochastic = True

    def __init__(self):
        super().__init__()
        self.net = _mlp(1)
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, x):
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return self.net(x * (1 + 0.5 * noise))


def test_eot_gradient_is_the_mean_of_per_draw_gradients():
    rng = np.random.RandomState(0)
    X = rng.uniform(0.2, 0.8, (30, 6))
    y = rng.randint(0, 3, 30)
    model = _Noisy()
    eps, n_draws = 0.05, 5
    model.generator.manual_seed(123)
    X_adv = pgd(model, X, y, eps=eps, norm="l2", steps=1, step_size=eps, random_start=False,
                eot_samples=n_draws)
    model.generator.manual_seed(123)
    x = torch.as_tensor(X)
    grads = []
    for _ in range(n_draws):
        x_var = x.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x_var), torch.as_tensor(y), reduction="sum")
        grads.append(torch.autograd.grad(loss, x_var)[0])
    g = torch.stack(grads).mean(dim=0)
    expected = (x + eps * g / (g.norm(dim=1, keepdim=True) + 1e-12)).clamp(0, 1)
    np.testing.assert_allclose(X_adv, expected.numpy(), atol=1e-9)
    # a single draw gives a different direction: the average is really taken
    model.generator.manual_seed(123)
    one = pgd(model, X, y, eps=eps, norm="l2", steps=1, step_size=eps, random_start=False)
    assert np.abs(one - X_adv).max() > 1e-3


def test_dlr_loss_matches_formula():
    scores = torch.tensor([[3.0, 1.0, 0.5, -1.0], [0.0, 2.0, 1.0, 4.0]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    expected = [-(3.0 - 1.0) / (3.0 - 0.5 + 1e-12), -(2.0 - 4.0) / (4.0 - 1.0 + 1e-12)]
    np.testing.assert_allclose(dlr_loss(scores, y).numpy(), expected)


def test_restarts_keep_fooling_examples_and_stay_in_ball():
    model = _mlp(dtype=torch.float32)
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, (50, 6)).astype(np.float32)
    y = _predict(model, X)
    one = pgd(model, X, y, eps=0.1, steps=5, random_state=0)
    many = pgd(model, X, y, eps=0.1, steps=5, n_restarts=4, random_state=0)
    assert many.dtype == np.float32 and many.shape == X.shape
    assert np.abs(many - X).max() <= 0.1 + 1e-7
    assert many.min() >= 0 and many.max() <= 1
    fooled_one = _predict(model, one) != y
    fooled_many = _predict(model, many) != y
    assert fooled_many.sum() >= fooled_one.sum()
    # the first restart is kept where it fooled
    np.testing.assert_array_equal(many[fooled_one], one[fooled_one])


def test_same_random_state_same_attack():
    model = _mlp(dtype=torch.float32)
    X = np.random.RandomState(0).uniform(0, 1, (20, 6)).astype(np.float32)
    y = np.zeros(20, dtype=int)
    a = pgd(model, X, y, eps=0.1, steps=3, random_state=7)
    b = pgd(model, X, y, eps=0.1, steps=3, random_state=7)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("eps", [0.05, 0.15, 0.3])
def test_square_attack_is_bounded_by_the_closed_form(linear_problem, eps):
    X, y, w, b = linear_problem
    model = _Binary(w, b)
    X_adv = square_attack(model, X, y, eps=eps, n_queries=300, clip_range=None, random_state=0)
    assert np.abs(X_adv - X).max() <= eps + 1e-12
    robust = np.mean(_predict(model, X_adv) == y)
    optimum = _closed_form_robust(X, y, w, b, eps, 1)
    # no attack in the ball can beat the optimum; random search gets close to it
    assert optimum - 1e-12 <= robust <= optimum + 0.05


def test_eps_zero_returns_X():
    model = _mlp(dtype=torch.float32)
    X = np.full((4, 6), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(pgd(model, X, np.zeros(4, int), eps=0), X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=-0.1), "eps"),
        (dict(eps=0.1, norm="l1"), "norm"),
        (dict(eps=0.1, loss="mse"), "loss"),
        (dict(eps=0.1, steps=0), "steps"),
        (dict(eps=0.1, eot_samples=0), "eot_samples"),
        (dict(eps=0.1, surrogate="peel"), "surrogate"),
    ],
)
def test_bad_parameters(kwargs, match):
    model = _mlp(dtype=torch.float32)
    X = np.full((4, 6), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        pgd(model, X, np.zeros(4, int), **kwargs)


def test_bad_inputs():
    model = _mlp(dtype=torch.float32)
    X = np.full((4, 6), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="clip_range"):
        pgd(model, X * 16, np.zeros(4, int), eps=0.1)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pgd(model, X_nan, np.zeros(4, int), eps=0.1)
    with pytest.raises(ValueError, match="lengths"):
        pgd(model, X, np.zeros(3, int), eps=0.1)
    with pytest.raises(ValueError, match="lengths"):
        square_attack(model, X, np.zeros(3, int), eps=0.1, n_queries=2)
    with pytest.raises(NotFittedError):
        pgd(AdversarialTrainingClassifier(), X, np.zeros(4, int), eps=0.1)
