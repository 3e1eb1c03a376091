"""Tests for fedlab.secagg (secure aggregation, Bonawitz et al. 2017)."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import secagg as S

FAST = settings(max_examples=40, deadline=None)


def float_sum(vectors, clients):
    """Per-coordinate exactly rounded sum of the chosen clients' vectors."""
    return np.array([math.fsum(vectors[u][i] for u in clients) for i in range(len(vectors[0]))])


def run_rounds(vectors, threshold, seed, modulus_bits=32, step=S.DEFAULT_STEP):
    """The first three rounds by hand, nobody drops: (secrets, keys, inbox, encodings, masked)."""
    randbytes = random.Random(seed).randbytes
    n = len(vectors)
    state, keys = {}, {}
    for u in range(n):
        state[u], keys[u] = S.advertise_keys(u, randbytes)
    inbox = {v: {} for v in range(n)}
    for u in range(n):
        state[u], outgoing = S.share_keys(state[u], keys, threshold, randbytes)
        for v, message in outgoing.items():
            inbox[v][u] = message
    encoded = [S.encode(x, n, modulus_bits, step) for x in vectors]
    masked = {u: S.masked_input_collection(state[u], encoded[u], keys, modulus_bits) for u in range(n)}
    return state, keys, inbox, encoded, masked


# --------------------------------------------------------------------- the whole protocol


@st.composite
def protocol_case(draw):
    n = draw(st.integers(2, 12))
    t = draw(st.integers(2, n))
    d = draw(st.integers(1, 12))
    modulus_bits = draw(st.sampled_from([12, 16, 24, 32, 40, 62]))
    step = draw(st.sampled_from([2.0**-16, 2.0**-8, 2.0**-2, 1e-3]))
    limit = S.max_abs_value(n, modulus_bits, step)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vectors = [rng.uniform(-limit, limit, d) for _ in range(n)]
    if draw(st.booleans()):  # the extremes of the range must work too
        vectors[0][0], vectors[-1][-1] = limit, -limit
    dropouts = draw(st.sets(st.integers(0, n - 1), max_size=n - t))
    alive = sorted(set(range(n)) - dropouts)
    late = draw(st.sets(st.sampled_from(alive), max_size=len(alive) - t))
    seed = draw(st.integers(0, 2**63))
    return vectors, t, dropouts, late, seed, modulus_bits, step


@FAST
@given(protocol_case())
def test_secure_sum_equals_plain_sum_of_survivors(case):
    vectors, t, dropouts, late, seed, modulus_bits, step = case
    result = S.secure_sum(vectors, t, dropouts, seed, late_dropouts=late, modulus_bits=modulus_bits, step=step)
    survivors = [u for u in range(len(vectors)) if u not in dropouts]
    assert result.survivors == tuple(survivors)
    assert result.dropped == tuple(sorted(dropouts))
    assert result.error_bound == len(survivors) * step / 2
    expected = float_sum(vectors, survivors)
    slack = 1e-12 * (1 + np.abs(expected))  # float64 rounding of x / step and of the plain sum
    assert np.all(np.abs(result.total - expected) <= result.error_bound + slack)
    assert set(result.masked_inputs) == set(survivors)
    for y in result.masked_inputs.values():
        assert y.dtype == np.uint64 and np.all(y < 2**modulus_bits)


def test_seed_makes_a_run_reproducible_and_changes_the_masks():
    rng = np.random.default_rng(1)
    vectors = [rng.normal(size=20) for _ in range(5)]
    a, b = S.secure_sum(vectors, 3, seed=7), S.secure_sum(vectors, 3, seed=7)
    c = S.secure_sum(vectors, 3, seed=8)
    for u in range(5):
        np.testing.assert_array_equal(a.masked_inputs[u], b.masked_inputs[u])
        assert np.mean(a.masked_inputs[u] == c.masked_inputs[u]) < 0.1
    np.testing.assert_array_equal(a.total, c.total)
    np.testing.assert_array_equal(a.total, S.secure_sum(vectors, 3).total)  # seed=None: `secrets`


def test_dropouts_and_late_dropouts_are_handled():
    rng = np.random.default_rng(2)
    vectors = [rng.normal(size=30) for _ in range(8)]
    result = S.secure_sum(vectors, 4, dropouts=[0, 5], seed=3, late_dropouts=[1, 7])
    assert result.survivors == (1, 2, 3, 4, 6, 7)  # late dropouts' inputs still count
    assert result.dropped == (0, 5)
    assert np.all(np.abs(result.total - float_sum(vectors, result.survivors)) <= result.error_bound + 1e-12)


# --------------------------------------------------------------------- masks


@pytest.mark.parametrize("n, modulus_bits", [(2, 32), (5, 16), (6, 62), (4, 33)])
def test_pairwise_masks_cancel(n, modulus_bits):
    rng = np.random.default_rng(n)
    limit = S.max_abs_value(n, modulus_bits)
    vectors = [rng.uniform(-limit, limit, 500) for _ in range(n)]
    state, _, _, encoded, masked = run_rounds(vectors, 2, seed=n, modulus_bits=modulus_bits)
    low = np.uint64(2**modulus_bits - 1)
    plain = np.sum(encoded, axis=0, dtype=np.uint64) & low
    total = np.sum(list(masked.values()), axis=0, dtype=np.uint64)
    self_masks = np.sum([S.self_mask(state[u].b, 500, modulus_bits).astype(np.uint64) for u in range(n)], axis=0, dtype=np.uint64)
    np.testing.assert_array_equal((total - self_masks) & low, plain)
    assert np.mean((total & low) == plain) < 0.01  # the self masks alone still hide the sum


def test_a_masked_input_reveals_nothing_visible_about_the_input():
    d, modulus_bits = 20_000, 32
    x = 1000 * np.sin(np.arange(d) / 50)  # a strongly structured input
    vectors = [x, np.zeros(d), -x]
    _, _, _, encoded, masked = run_rounds(vectors, 2, seed=11, modulus_bits=modulus_bits)
    for u in range(3):
        y = masked[u].astype(np.float64) / 2**modulus_bits  # in [0, 1)
        assert np.mean(masked[u] == encoded[u]) < 1e-3
        assert abs(y.mean() - 0.5) < 0.01  # sd of the mean is 0.002
        assert abs(y.var() - 1 / 12) < 0.005
        if u != 1:
            assert abs(np.corrcoef(y, vectors[u])[0, 1]) < 0.05  # sd about 0.007
        counts = np.bincount((masked[u] >> np.uint64(modulus_bits - 4)).astype(np.int64), minlength=16)
        chi2 = np.sum((counts - d / 16) ** 2 / (d / 16))
        assert chi2 < 60  # 15 degrees of freedom: mean 15, P(> 60) < 1e-6


def test_prg_is_deterministic_and_in_range():
    seed = bytes(range(32))
    for modulus_bits in (8, 32, 33, 62):
        a = S.prg(seed, 1000, modulus_bits)
        out = np.empty(1002, dtype=np.uint64)
        b = S.prg(seed, 1000, modulus_bits, out)
        np.testing.assert_array_equal(a, b)
        assert a.max() < 2**modulus_bits and a.max() >= 2 ** (modulus_bits - 1)
    assert not np.array_equal(S.prg(seed, 100, 32), S.prg(bytes(32), 100, 32))


def test_key_agreement_is_symmetric():
    randbytes = random.Random(5).randbytes
    a, a_keys = S.advertise_keys(0, randbytes)
    b, b_keys = S.advertise_keys(1, randbytes)
    assert S.agree(a.s_sk, b_keys.s_pk, S.MASK_INFO) == S.agree(b.s_sk, a_keys.s_pk, S.MASK_INFO)
    assert S.agree(a.s_sk, b_keys.s_pk, S.MASK_INFO) != S.agree(a.s_sk, b_keys.s_pk, S.SHARE_INFO)
    assert S.agree(a.c_sk, b_keys.c_pk, S.SHARE_INFO) != S.agree(a.s_sk, b_keys.s_pk, S.SHARE_INFO)


def test_unmasking_reply_never_reveals_both_shares_of_a_client():
    vectors = [np.ones(4)] * 5
    state, keys, inbox, _, _ = run_rounds(vectors, 3, seed=4)
    reply = S.unmasking_reply(state[2], inbox[2], keys, survivors=[0, 2, 3])
    assert set(reply.b_shares) == {0, 2, 3}
    assert set(reply.s_sk_shares) == {1, 4}
    assert all(x == 3 for x, _ in list(reply.b_shares.values()) + list(reply.s_sk_shares.values()))


def test_tampered_share_ciphertext_is_rejected():
    vectors = [np.ones(4)] * 3
    state, keys, inbox, _, _ = run_rounds(vectors, 2, seed=6)
    message = inbox[1][0]
    bad = S.EncryptedShares(message.sender, message.recipient, message.nonce, bytes([message.ciphertext[0] ^ 1]) + message.ciphertext[1:])
    with pytest.raises(Exception):  # cryptography's InvalidTag
        S.unmasking_reply(state[1], {**inbox[1], 0: bad}, keys, survivors=[0, 1, 2])


# --------------------------------------------------------------------- Shamir


@FAST
@given(
    secret=st.integers(0, S.PRIME - 1),
    n=st.integers(2, 15),
    data=st.data(),
    seed=st.integers(0, 2**32),
)
def test_any_t_shares_reconstruct_and_t_minus_1_do_not(secret, n, data, seed):
    t = data.draw(st.integers(1, n))
    rng = random.Random(seed)
    shares = S.shamir_share(secret, t, n, rng.randbytes)
    assert [x for x, _ in shares] == list(range(1, n + 1))
    assert S.shamir_reconstruct(shares) == secret
    for _ in range(3):
        assert S.shamir_reconstruct(rng.sample(shares, t)) == secret
        if t >= 2:  # wrong with probability 1/p
            assert S.shamir_reconstruct(rng.sample(shares, t - 1)) != secret


def test_shamir_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"secret must be in \[0, 2\^255 - 19\)"):
        S.shamir_share(S.PRIME, 2, 3)
    with pytest.raises(ValueError, match="threshold must be between 1 and n_shares = 3, got 4"):
        S.shamir_share(5, 4, 3)
    with pytest.raises(ValueError, match="distinct x-coordinates"):
        S.shamir_reconstruct([(1, 2), (1, 3)])


# --------------------------------------------------------------------- fixed point


@FAST
@given(
    n=st.integers(1, 50),
    d=st.integers(1, 20),
    modulus_bits=st.integers(8, 62),
    exponent=st.integers(-20, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_decoded_sum_of_encodings_is_within_n_half_steps(n, d, modulus_bits, exponent, seed):
    step = 2.0**exponent
    limit = S.max_abs_value(n, modulus_bits, step)
    rng = np.random.default_rng(seed)
    vectors = [rng.uniform(-limit, limit, d) for _ in range(n)]
    total = np.zeros(d, dtype=np.uint64)
    for x in vectors:
        encoded = S.encode(x, n, modulus_bits, step)
        assert np.all(np.abs(S.decode(encoded, modulus_bits, step) - x) <= step / 2 * (1 + 1e-12))
        total += encoded
    expected = float_sum(vectors, range(n))
    assert np.all(np.abs(S.decode(total, modulus_bits, step) - expected) <= n * step / 2 + 1e-12 * np.abs(expected))


def test_encode_range_edges():
    limit = S.max_abs_value(4, 16, 2.0**-8)
    assert limit == (2**15 - 1) // 4 * 2.0**-8
    np.testing.assert_array_equal(S.decode(S.encode([limit, -limit, 0.0], 4, 16, 2.0**-8), 16, 2.0**-8), [limit, -limit, 0.0])
    with pytest.raises(ValueError, match=r"x\[1\] = .* outside the fixed-point range \[-31.9961, 31.9961\] allowed for n_clients=4"):
        S.encode([0.0, limit + 2.0**-8], 4, 16, 2.0**-8)
    assert S.encode([-1.0], 1, 8, 1.0)[0] == 255  # negatives wrap to the top of Z_{2^k}


# --------------------------------------------------------------------- bad input


GOOD = [np.zeros(3), np.ones(3), np.ones(3), np.ones(3)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(threshold=5), r"threshold must be an integer between 2 and 4 \(the number of clients\), got 5"),
        (dict(threshold=1), r"threshold must be an integer between 2 and 4 \(the number of clients\), got 1"),
        (dict(threshold=2.5), r"threshold must be an integer between 2 and 4"),
        (dict(threshold=3, dropouts=[0, 1]), r"only 2 clients survived but threshold is 3; the sum cannot be recovered"),
        (dict(threshold=3, late_dropouts=[0, 3]), r"only 2 clients survived to the unmasking round but threshold is 3"),
        (dict(threshold=2, dropouts=[4]), r"every entry of dropouts must be an integer between 0 and 3"),
        (dict(threshold=2, late_dropouts=[-1]), r"every entry of late_dropouts must be an integer between 0 and 3"),
        (dict(threshold=2, dropouts=[1], late_dropouts=[1]), r"clients \[1\] are in both dropouts and late_dropouts"),
        (dict(threshold=2, modulus_bits=7), r"modulus_bits must be an integer between 8 and 62, got 7"),
        (dict(threshold=2, modulus_bits=63), r"modulus_bits must be an integer between 8 and 62, got 63"),
        (dict(threshold=2, step=0.0), r"step must be a finite number > 0, got 0.0"),
        (dict(threshold=2, step=float("inf")), r"step must be a finite number > 0, got inf"),
        (dict(threshold=2, step=-1.0), r"step must be a finite number > 0"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.secure_sum(GOOD, **kwargs)


@pytest.mark.parametrize(
    "vectors, message",
    [
        ([], r"vectors is empty: secure aggregation needs at least 2 clients"),
        ([np.zeros(3), np.zeros(3), np.zeros(2)], r"same length: vectors\[0\] has length 3, vectors\[2\] has length 2"),
        ([np.zeros(0), np.zeros(0)], r"vectors\[0\] must be a non-empty 1-D vector, got shape \(0,\)"),
        ([np.zeros((2, 2)), np.zeros((2, 2))], r"vectors\[0\] must be a non-empty 1-D vector, got shape \(2, 2\)"),
        ([np.zeros(3), [0.0, np.nan, 0.0]], r"vectors\[1\]: x\[1\] = nan is not finite"),
        ([np.zeros(3), [0.0, 0.0, -np.inf]], r"vectors\[1\]: x\[2\] = -inf is not finite"),
        ([np.zeros(3), [0.0, 0.0, 2e4]], r"vectors\[1\]: x\[2\] = 20000.0 is outside the fixed-point range \[-16384, 16384\] allowed for n_clients=2, modulus_bits=32"),
    ],
)
def test_bad_vectors_raise(vectors, message):
    with pytest.raises(ValueError, match=message):
        S.secure_sum(vectors, 2)


def test_threshold_larger_than_one_client():
    with pytest.raises(ValueError, match=r"threshold must be an integer between 2 and 1"):
        S.secure_sum([np.zeros(3)], 2)


# --------------------------------------------------------------------- byte accounting


def test_byte_counts_match_a_hand_computation():
    # 3 clients, 10 values, k = 32, nobody drops. Per client:
    #   AdvertiseKeys: 2 public keys * 32                                  =  64
    #   ShareKeys: 2 others * (4 id + 12 nonce + 72 plaintext + 16 tag)     = 208
    #     (plaintext: 4 + 4 bytes of ids, 32 + 32 bytes of shares)
    #   MaskedInputCollection: 10 values * 32 bits / 8                     =  40
    #   Unmasking: one 32-byte share for each of the 3 clients            =  96
    result = S.secure_sum([np.ones(10)] * 3, 2, seed=0)
    assert result.plain_bytes == 40
    for u in range(3):
        assert result.bytes_sent[u] == S.ByteCount(64, 208, 40, 96)
        assert result.bytes_sent[u].total == 408
    assert result.expansion == 408 / 40


def test_byte_counts_with_dropouts_and_odd_bit_widths():
    # 4 clients, 10 values, k = 20 -> 200 bits = 25 bytes; client 2 drops before
    # sending its masked input, client 3 before Unmasking.
    result = S.secure_sum([np.ones(10)] * 4, 2, dropouts=[2], seed=0, late_dropouts=[3], modulus_bits=20, step=2.0**-4)
    assert result.plain_bytes == 25
    assert result.bytes_sent[0] == S.ByteCount(64, 3 * 104, 25, 4 * 32)
    assert result.bytes_sent[1] == S.ByteCount(64, 3 * 104, 25, 4 * 32)
    assert result.bytes_sent[2] == S.ByteCount(64, 3 * 104, 0, 0)
    assert result.bytes_sent[3] == S.ByteCount(64, 3 * 104, 25, 0)
    assert result.expansion == (64 + 312 + 25 + 128) / 25


def test_counted_sizes_are_the_real_message_sizes():
    state, keys, inbox, _, masked = run_rounds([np.ones(10)] * 3, 2, seed=9)
    assert all(len(k.c_pk) == len(k.s_pk) == S.PUBLIC_KEY_BYTES for k in keys.values())
    for message in inbox[0].values():
        assert S.ID_BYTES + len(message.nonce) + len(message.ciphertext) == S.SHARE_MESSAGE_BYTES == 104
    assert all(0 <= y < S.PRIME for reply in [S.unmasking_reply(state[0], inbox[0], keys, [0, 1, 2])] for _, y in reply.b_shares.values())
    assert all(int(y.max()) < 2**32 for y in masked.values())  # fits the 32 bits counted per value
