"""Privacy accounting for DP-FedAvg: taught in `notebooks/05_differential_privacy.ipynb`.

User-level DP-FedAvg (McMahan et al. 2018, ICLR, arXiv:1710.06963) clips each client's
update to an L2 norm S and adds Gaussian noise of standard deviation `z * S` to the sum; `z`
is the noise multiplier. Each round is then a Gaussian mechanism applied to a random sample
of the clients. :func:`compute_epsilon` composes `num_rounds` such rounds with the Renyi-DP
accountant of `dp_accounting` (installed with TensorFlow Federated), as TFF's tutorial
"Differential Privacy in TFF" does, and converts the result to an (epsilon, delta) guarantee.
:func:`compute_epsilon_fixed_cohort` accounts for what the course's training loops do instead:
a cohort of exactly `clients_per_round` clients drawn without replacement each round.
Converting a Renyi-DP total to (epsilon, delta) gives an upper bound, not the exact epsilon.
"""

from __future__ import annotations

import math

from fedlab._checks import check_int, check_number

__all__ = ["compute_epsilon", "compute_epsilon_fixed_cohort"]


def compute_epsilon(
    noise_multiplier: float, sampling_rate: float, num_rounds: int, delta: float
) -> float:
    """Epsilon of DP-FedAvg with Poisson-sampled clients, from the RDP accountant.

    The event is `num_rounds` self-compositions of a Gaussian mechanism with noise multiplier
    `noise_multiplier` applied to a Poisson sample of the clients (each client takes part in a
    round with probability `sampling_rate`, independently). Written out in the open in
    `notebooks/05_differential_privacy.ipynb`.

    Args:
        noise_multiplier: z, the noise standard deviation divided by the clipping norm (>= 0);
            0 means no noise, and the epsilon is infinite.
        sampling_rate: q, the probability that a client takes part in a round, in (0, 1];
            for a fixed cohort this is about `clients_per_round / num_clients`.
        num_rounds: Rounds trained (>= 1).
        delta: The delta of the (epsilon, delta) guarantee, in (0, 1); take it well below
            `1 / num_clients`.

    Returns:
        The epsilon, a float (`inf` when `noise_multiplier` is 0).
    """
    import dp_accounting

    noise_multiplier = check_number("noise_multiplier", noise_multiplier, 0)
    sampling_rate = check_number("sampling_rate", sampling_rate, 0, 1, low_open=True)
    num_rounds = check_int("num_rounds", num_rounds, 1)
    delta = check_number("delta", delta, 0, 1, low_open=True, high_open=True)

    accountant = dp_accounting.rdp.RdpAccountant()
    one_round = dp_accounting.PoissonSampledDpEvent(
        sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    accountant.compose(dp_accounting.SelfComposedDpEvent(one_round, int(num_rounds)))
    return float(accountant.get_epsilon(delta))


def compute_epsilon_fixed_cohort(
    noise_multiplier: float, num_clients: int, clients_per_round: int, num_rounds: int,
    delta: float,
) -> float:
    """Epsilon of DP-FedAvg with a fixed-size cohort per round, from the RDP accountant.

    The event is `num_rounds` self-compositions of a Gaussian mechanism with noise multiplier
    `noise_multiplier` applied to `clients_per_round` clients drawn without replacement from
    `num_clients` (`dp_accounting.SampledWithoutReplacementDpEvent`). dp_accounting 0.4.3
    accounts for that sampling only with the RDP accountant and only for *replace-one*
    neighbours (one client's data swapped for another's). Swapping one clipped update for
    another moves the sum by up to 2 S, twice the add-or-remove sensitivity S, and the event's
    noise multiplier is relative to that sensitivity: it is `noise_multiplier / 2`.
    Written out in the open in `notebooks/05_differential_privacy.ipynb`.

    Args:
        noise_multiplier: z, the noise standard deviation divided by the clipping norm (>= 0);
            0 means no noise, and the epsilon is infinite.
        num_clients: Clients in the federation (>= 1).
        clients_per_round: Clients drawn each round, 1 to `num_clients`.
        num_rounds: Rounds trained (>= 1).
        delta: The delta of the (epsilon, delta) guarantee, in (0, 1).

    Returns:
        The epsilon, a float (`inf` when `noise_multiplier` is 0).
    """
    import dp_accounting

    noise_multiplier = check_number("noise_multiplier", noise_multiplier, 0)
    num_clients = check_int("num_clients", num_clients, 1)
    clients_per_round = check_int("clients_per_round", clients_per_round, 1, num_clients,
                                  " (at most num_clients)")
    num_rounds = check_int("num_rounds", num_rounds, 1)
    delta = check_number("delta", delta, 0, 1, low_open=True, high_open=True)

    if noise_multiplier == 0:
        return math.inf
    accountant = dp_accounting.rdp.RdpAccountant(
        neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    one_round = dp_accounting.SampledWithoutReplacementDpEvent(
        num_clients, clients_per_round, dp_accounting.GaussianDpEvent(noise_multiplier / 2))
    accountant.compose(dp_accounting.SelfComposedDpEvent(one_round, num_rounds))
    return float(accountant.get_epsilon(delta))
