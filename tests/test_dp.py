"""fedlab.dp: the RDP accounting of DP-FedAvg, against a published number and a textbook bound."""

import math

import numpy as np
import pytest

from fedlab import dp


def test_tff_tutorial_configuration():
    # TFF's "Differential Privacy in TFF" tutorial (v0.87.0): 3,383 EMNIST users, 120 per
    # round, noise multiplier 1.2, 100 rounds, delta 1e-5, reported as (2, 1e-5)-DP.
    epsilon = dp.compute_epsilon(1.2, 120 / 3383, 100, 1e-5)
    assert epsilon <= 2.0
    assert round(epsilon, 3) == 1.986


def test_no_noise_means_no_privacy():
    assert dp.compute_epsilon(0.0, 0.1, 10, 1e-5) == math.inf


def test_full_participation_is_below_the_classic_rdp_bound():
    # With q = 1 each round is a plain Gaussian mechanism: RDP alpha / (2 z^2) per round, and
    # epsilon <= min over alpha of T alpha / (2 z^2) + log(1 / delta) / (alpha - 1)
    # (Mironov 2017). dp_accounting converts more tightly, so it must not exceed this.
    z, rounds, delta = 2.0, 5, 1e-5
    alphas = np.linspace(1.01, 200, 200_000)
    classic = np.min(rounds * alphas / (2 * z**2) + np.log(1 / delta) / (alphas - 1))
    epsilon = dp.compute_epsilon(z, 1.0, rounds, delta)
    assert 0.7 * classic < epsilon <= classic


def test_epsilon_moves_the_right_way():
    base = dp.compute_epsilon(1.0, 0.1, 20, 1e-5)
    assert dp.compute_epsilon(2.0, 0.1, 20, 1e-5) < base  # more noise
    assert dp.compute_epsilon(1.0, 0.05, 20, 1e-5) < base  # fewer clients sampled per round
    assert dp.compute_epsilon(1.0, 0.1, 40, 1e-5) > base  # more rounds
    assert dp.compute_epsilon(1.0, 0.1, 20, 1e-3) < base  # a larger delta


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(noise_multiplier=-0.5), ValueError,
         "noise_multiplier must be a finite number >= 0, got -0.5"),
        (dict(noise_multiplier=float("nan")), ValueError,
         "noise_multiplier must be a finite number >= 0, got nan"),
        (dict(noise_multiplier="1"), TypeError,
         "noise_multiplier must be a finite number >= 0, got '1'"),
        (dict(sampling_rate=0.0), ValueError,
         r"sampling_rate must be a finite number in \(0, 1\], got 0.0"),
        (dict(sampling_rate=1.5), ValueError,
         r"sampling_rate must be a finite number in \(0, 1\], got 1.5"),
        (dict(num_rounds=0), ValueError, "num_rounds must be an integer >= 1, got 0"),
        (dict(num_rounds=2.5), TypeError, "num_rounds must be an integer >= 1, got 2.5"),
        (dict(delta=0.0), ValueError, r"delta must be a finite number in \(0, 1\), got 0.0"),
        (dict(delta=1.0), ValueError, r"delta must be a finite number in \(0, 1\), got 1.0"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    args = dict(noise_multiplier=1.0, sampling_rate=0.1, num_rounds=10, delta=1e-5) | kwargs
    with pytest.raises(error, match=match):
        dp.compute_epsilon(**args)


def test_fixed_cohort_matches_dp_accounting_written_out():
    import dp_accounting

    accountant = dp_accounting.rdp.RdpAccountant(
        neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    accountant.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.SampledWithoutReplacementDpEvent(100, 10,
                                                       dp_accounting.GaussianDpEvent(0.5)),
        12))
    # z = 1 on the add-or-remove sensitivity S is z = 0.5 on the replace-one sensitivity 2 S.
    assert dp.compute_epsilon_fixed_cohort(1.0, 100, 10, 12, 1e-5) == accountant.get_epsilon(1e-5)


def test_fixed_cohort_of_everyone_is_a_replace_one_gaussian():
    # With every client in every round there is no sampling: a Gaussian mechanism whose
    # replace-one sensitivity is twice the clip, so it costs what noise z / 2 costs under
    # add-or-remove.
    fixed = dp.compute_epsilon_fixed_cohort(2.0, 50, 50, 5, 1e-5)
    assert math.isclose(fixed, dp.compute_epsilon(1.0, 1.0, 5, 1e-5), rel_tol=1e-9)


def test_fixed_cohort_epsilon_moves_the_right_way():
    base = dp.compute_epsilon_fixed_cohort(1.0, 100, 10, 12, 1e-5)
    assert dp.compute_epsilon_fixed_cohort(0.0, 100, 10, 12, 1e-5) == math.inf
    assert dp.compute_epsilon_fixed_cohort(2.0, 100, 10, 12, 1e-5) < base   # more noise
    assert dp.compute_epsilon_fixed_cohort(1.0, 1000, 10, 12, 1e-5) < base  # a larger federation
    assert dp.compute_epsilon_fixed_cohort(1.0, 100, 10, 24, 1e-5) > base   # more rounds
    # Replace-one neighbours are a stronger notion than add-or-remove: a larger epsilon.
    assert base > dp.compute_epsilon(1.0, 10 / 100, 12, 1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(noise_multiplier=-1.0), ValueError, "noise_multiplier must be a finite number >= 0"),
        (dict(noise_multiplier=None), TypeError,
         "noise_multiplier must be a finite number >= 0, got None"),
        (dict(num_clients=0), ValueError, "num_clients must be an integer >= 1, got 0"),
        (dict(num_clients=100.0), TypeError, "num_clients must be an integer >= 1, got 100.0"),
        (dict(clients_per_round=0), ValueError,
         "clients_per_round must be an integer between 1 and 100"),
        (dict(clients_per_round=101), ValueError,
         r"clients_per_round must be an integer between 1 and 100 "
         r"\(at most num_clients\), got 101"),
        (dict(num_rounds=0), ValueError, "num_rounds must be an integer >= 1, got 0"),
        (dict(num_rounds=True), TypeError, "num_rounds must be an integer >= 1, got True"),
        (dict(delta=1.5), ValueError, r"delta must be a finite number in \(0, 1\), got 1.5"),
    ],
)
def test_fixed_cohort_bad_arguments_are_refused(kwargs, error, match):
    args = dict(noise_multiplier=1.0, num_clients=100, clients_per_round=10, num_rounds=12,
                delta=1e-5) | kwargs
    with pytest.raises(error, match=match):
        dp.compute_epsilon_fixed_cohort(**args)
