"""Tests for fedlab.secagg (secure aggregation, Bonawitz et al. 2017).

The property tests draw n from 3 to 30 clients with short vectors, so the file stays fast.
Sums are compared with the exact real sum (fractions.Fraction), not a float sum.
"""

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import secagg as S

FAST = settings(max_examples=60, deadline=None)
FEW = settings(max_examples=30, deadline=None)


def assert_within_bound(total, vectors, clients, bound):
    """|total - exact sum over clients| <= bound in every coordinate, in exact arithmetic."""
    for i, value in enumerate(total):
        exact = sum(Fraction(float(vectors[u][i])) for u in clients)
        assert abs(Fraction(float(value)) - exact) <= Fraction(bound), (
            i, float(value), float(exact), bound)


def stateless_rounds(vectors, threshold, seed, modulus_bits=32, step=S.DEFAULT_STEP):
    """The first three rounds with the stateless functions (any threshold): (secrets, keys, inbox,
    encodings, masked)."""
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
    masked = {u: S.masked_input_collection(state[u], encoded[u], keys, modulus_bits)
              for u in range(n)}
    return state, keys, inbox, encoded, masked


def client_rounds(vectors, threshold, seed, modulus_bits=32, step=S.DEFAULT_STEP,
                  tamper_inbox=None):
    """The first three rounds with Client objects: (clients, keys, encodings, masked)."""
    randbytes = random.Random(seed).randbytes
    n = len(vectors)
    clients = [S.Client(u, n, threshold, randbytes) for u in range(n)]
    keys = {u: c.public_keys for u, c in enumerate(clients)}
    inbox = {v: {} for v in range(n)}
    for u in range(n):
        for v, message in clients[u].share_keys(keys).items():
            inbox[v][u] = message
    if tamper_inbox is not None:
        tamper_inbox(inbox)
    for v in range(n):
        clients[v].receive_shares(inbox[v])
    encoded = [S.encode(x, n, modulus_bits, step) for x in vectors]
    masked = {u: clients[u].masked_input(encoded[u], modulus_bits) for u in range(n)}
    return clients, keys, encoded, masked


def flip_byte(data: bytes, i: int = 0) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


# --------------------------------------------------------------------- the whole protocol


@st.composite
def protocol_case(draw):
    n = draw(st.integers(3, 30))
    t = draw(st.integers(S.min_threshold(n), n))
    d = draw(st.integers(1, 4))
    modulus_bits = draw(st.sampled_from([12, 16, 24, 32, 40, 54]))
    step = draw(st.sampled_from([2.0**-16, 2.0**-8, 0.25, 1.0, 1e-3, 0.1, 3.0]))
    limit = S.max_abs_value(n, modulus_bits, step)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1e-3, 1e-9]))  # full range, and small values
    vectors = [rng.uniform(-limit, limit, d) * scale for _ in range(n)]
    if draw(st.booleans()):  # the extremes of the range must work too
        vectors[0][0], vectors[-1][-1] = limit, -limit
    clients = list(range(n))
    key_dropouts = draw(st.sets(st.sampled_from(clients), max_size=n // 3))
    rest = [u for u in clients if u not in key_dropouts]
    dropouts = draw(st.sets(st.sampled_from(rest), max_size=n // 3))
    rest = [u for u in rest if u not in dropouts]
    late = draw(st.sets(st.sampled_from(rest), max_size=n // 3)) if rest else set()
    seed = draw(st.integers(0, 2**63))
    return vectors, t, key_dropouts, dropouts, late, seed, modulus_bits, step


@FAST
@given(protocol_case())
def test_secure_sum_is_exact_within_its_bound_or_refuses(case):
    vectors, t, key_dropouts, dropouts, late, seed, modulus_bits, step = case
    n = len(vectors)
    shared = n - len(key_dropouts)
    survivors = [u for u in range(n) if u not in key_dropouts | dropouts]
    answering = len(survivors) - len(late)
    # fewer than t in some round: the protocol refuses
    if min(shared, len(survivors), answering) < t:
        with pytest.raises(ValueError, match=f"but threshold is {t}"):
            S.secure_sum(vectors, t, dropouts, seed, late_dropouts=late, key_dropouts=key_dropouts,
                         modulus_bits=modulus_bits, step=step)
        return
    result = S.secure_sum(vectors, t, dropouts, seed, late_dropouts=late,
                          key_dropouts=key_dropouts, modulus_bits=modulus_bits, step=step)
    assert result.survivors == tuple(survivors)
    assert result.dropped == tuple(sorted(key_dropouts | dropouts))
    assert result.shares_checked == (answering > t)
    assert_within_bound(result.total, vectors, survivors, result.error_bound)
    for y in result.masked_inputs.values():
        assert y.dtype == np.uint64 and np.all(y < 2**modulus_bits)


def test_the_bound_is_tight_for_a_power_of_two_step():
    # two clients at +step/2 round away from zero (numpy rounds half to even: 0.5 -> 0, 1.5 -> 2)
    step = 2.0**-4
    vectors = [np.array([1.5 * step]), np.array([1.5 * step]), np.array([1.5 * step])]
    result = S.secure_sum(vectors, 2, seed=0, step=step)
    assert result.error_bound == 3 * step / 2
    assert result.total[0] == 6 * step and abs(result.total[0] - 4.5 * step) == result.error_bound


def test_sums_near_2_to_the_53_stay_exact():
    # k = 54 is the largest modulus: every sum is an integer below 2^53 in size.
    n, step = 3, 1.0
    limit = S.max_abs_value(n, 54, step)
    assert limit == (2**53 - 1) // 3
    vectors = [np.array([limit, -limit, 1.0]), np.array([limit, -limit, 2.0]),
               np.array([limit, -limit, 3.0])]
    result = S.secure_sum(vectors, 2, seed=1, modulus_bits=54, step=step)
    assert [int(v) for v in result.total] == [3 * int(limit), -3 * int(limit), 6]
    assert result.error_bound == n * step / 2
    with pytest.raises(ValueError,
                       match=r"modulus_bits must be an integer between 8 and 54 .*got 62"):
        S.secure_sum(vectors, 2, modulus_bits=62)


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


def test_dropouts_at_each_stage_are_handled():
    rng = np.random.default_rng(2)
    vectors = [rng.normal(size=30) for _ in range(10)]
    result = S.secure_sum(vectors, 6, dropouts=[0, 5], seed=3, late_dropouts=[1], key_dropouts=[9])
    assert result.survivors == (1, 2, 3, 4, 6, 7, 8)  # late dropouts' inputs still count
    assert result.dropped == (0, 5, 9)
    # 7 survivors, one of them late: 6 replies = t, no spare share
    assert not result.shares_checked
    assert_within_bound(result.total, vectors, result.survivors, result.error_bound)


def test_exactly_t_replies_are_flagged_as_unchecked():
    vectors = [np.ones(3)] * 5
    assert not S.secure_sum(vectors, 3, late_dropouts=[0, 1], seed=0).shares_checked
    assert S.secure_sum(vectors, 3, late_dropouts=[0], seed=0).shares_checked


# --------------------------------------------------------------------- masks


@pytest.mark.parametrize("n, modulus_bits", [(2, 32), (5, 16), (6, 54), (4, 33)])
def test_pairwise_masks_cancel(n, modulus_bits):
    rng = np.random.default_rng(n)
    limit = S.max_abs_value(n, modulus_bits)
    vectors = [rng.uniform(-limit, limit, 500) for _ in range(n)]
    state, _, _, encoded, masked = stateless_rounds(vectors, 2, seed=n, modulus_bits=modulus_bits)
    low = np.uint64(2**modulus_bits - 1)
    plain = np.sum(encoded, axis=0, dtype=np.uint64) & low
    total = np.sum(list(masked.values()), axis=0, dtype=np.uint64)
    self_masks = np.sum([S.self_mask(state[u].b, 500, modulus_bits).astype(np.uint64)
                         for u in range(n)], axis=0, dtype=np.uint64)
    np.testing.assert_array_equal((total - self_masks) & low, plain)
    assert np.mean((total & low) == plain) < 0.01  # the self masks alone still hide the sum


def test_a_masked_input_reveals_nothing_visible_about_the_input():
    d, modulus_bits = 20_000, 32
    x = 1000 * np.sin(np.arange(d) / 50)  # a strongly structured input
    vectors = [x, np.zeros(d), -x]
    _, _, _, encoded, masked = stateless_rounds(vectors, 2, seed=11, modulus_bits=modulus_bits)
    for u in range(3):
        y = masked[u].astype(np.float64) / 2**modulus_bits  # in [0, 1)
        assert np.mean(masked[u] == encoded[u]) < 1e-3
        assert abs(y.mean() - 0.5) < 0.01  # sd of the mean is 0.002
        assert abs(y.var() - 1 / 12) < 0.005
        if u != 1:
            assert abs(np.corrcoef(y, vectors[u])[0, 1]) < 0.05  # sd about 0.007
        counts = np.bincount((masked[u] >> np.uint64(modulus_bits - 4)).astype(np.int64),
                             minlength=16)
        chi2 = np.sum((counts - d / 16) ** 2 / (d / 16))
        assert chi2 < 60  # 15 degrees of freedom: mean 15, P(> 60) < 1e-6


def test_prg_is_deterministic_and_in_range():
    seed = bytes(range(32))
    for modulus_bits in (8, 32, 33, 54):
        a = S.prg(seed, 1000, modulus_bits)
        out = np.empty(1002, dtype=np.uint64)
        b = S._prg_into(seed, 1000, modulus_bits, out)  # the protocol's buffered variant
        np.testing.assert_array_equal(a, b)
        assert np.shares_memory(b, out) and not np.shares_memory(a, out)
        assert a.max() < 2**modulus_bits and a.max() >= 2 ** (modulus_bits - 1)
    assert not np.array_equal(S.prg(seed, 100, 32), S.prg(bytes(32), 100, 32))


def test_key_agreement_is_symmetric():
    randbytes = random.Random(5).randbytes
    a, a_keys = S.advertise_keys(0, randbytes)
    b, b_keys = S.advertise_keys(1, randbytes)
    assert S.agree(a.s_sk, b_keys.s_pk, S.MASK_INFO) == S.agree(b.s_sk, a_keys.s_pk, S.MASK_INFO)
    assert S.agree(a.s_sk, b_keys.s_pk, S.MASK_INFO) != S.agree(a.s_sk, b_keys.s_pk, S.SHARE_INFO)
    assert S.agree(a.c_sk, b_keys.c_pk, S.SHARE_INFO) != S.agree(a.s_sk, b_keys.s_pk, S.SHARE_INFO)


def test_unmasking_reply_never_reveals_both_shares_of_a_client_in_one_answer():
    vectors = [np.ones(4)] * 5
    state, keys, inbox, _, _ = stateless_rounds(vectors, 3, seed=4)
    reply = S.unmasking_reply(state[2], inbox[2], keys, survivors=[0, 2, 3])
    assert set(reply.b_shares) == {0, 2, 3}
    assert set(reply.s_sk_shares) == {1, 4}
    assert all(x == 3 for x, _ in list(reply.b_shares.values()) + list(reply.s_sk_shares.values()))


# --------------------------------------------------------------------- a lying server


def recover(victim, b_shares, s_shares, y, keys, modulus_bits=32):
    """The server's attempt: rebuild b and s^SK of one client from the shares it got, unmask y."""
    if not b_shares or not s_shares:
        return None
    b, s_sk = S.shamir_reconstruct(b_shares), S.shamir_reconstruct(s_shares)
    return S.unmask_single(y, b, s_sk, victim, keys, modulus_bits)


def test_a_lying_server_recovers_an_input_from_the_stateless_replies():
    # The control for the tests below: without client state each strategy works.
    n, t, victim = 7, 3, 6
    vectors = [np.arange(4.0) + u for u in range(n)]
    state, keys, inbox, encoded, masked = stateless_rounds(vectors, t, seed=0)
    everyone = list(range(n))
    without = [u for u in everyone if u != victim]
    # 1. different lists: clients 0-2 hear that the victim survived, clients 3-5 that it dropped
    b = [S.unmasking_reply(state[u], inbox[u], keys, everyone).b_shares[victim] for u in (0, 1, 2)]
    s = [S.unmasking_reply(state[u], inbox[u], keys, without).s_sk_shares[victim]
         for u in (3, 4, 5)]
    np.testing.assert_array_equal(recover(victim, b, s, masked[victim], keys), encoded[victim])
    # 2. the same clients asked twice (works for any t <= n - 1)
    b = [S.unmasking_reply(state[u], inbox[u], keys, everyone).b_shares[victim] for u in range(5)]
    s = [S.unmasking_reply(state[u], inbox[u], keys, without).s_sk_shares[victim]
         for u in range(5)]
    np.testing.assert_array_equal(recover(victim, b, s, masked[victim], keys), encoded[victim])
    # 3. survivors=[]: one client hands over every s-share, its own included
    reply = S.unmasking_reply(state[0], inbox[0], keys, [])
    assert set(reply.s_sk_shares) == set(everyone) and not reply.b_shares


def answer_or_refuse(client, survivors):
    try:
        return client.unmasking_reply(survivors)
    except S.ProtocolError:
        return None


@FEW
@given(n=st.integers(3, 30), data=st.data())
def test_different_survivor_lists_never_give_both_secrets_of_a_client(n, data):
    t = data.draw(st.integers(S.min_threshold(n), n))
    victim = data.draw(st.integers(0, n - 1))
    told_alive = data.draw(st.sets(st.integers(0, n - 1)))  # the rest hear that the victim dropped
    # other clients the server also calls dropped
    extra = data.draw(st.sets(st.integers(0, n - 1)))
    vectors = [np.full(2, float(u)) for u in range(n)]
    clients, keys, encoded, masked = client_rounds(vectors, t,
                                                   seed=data.draw(st.integers(0, 2**32)))
    with_victim = [u for u in range(n) if u not in extra or u == victim]
    without_victim = [u for u in with_victim if u != victim]
    b, s = [], []
    for u in range(n):
        if u in told_alive:
            reply = answer_or_refuse(clients[u], with_victim)
            b += [reply.b_shares[victim]] if reply else []
        else:
            reply = answer_or_refuse(clients[u], without_victim)
            s += [reply.s_sk_shares[victim]] if reply else []
    assert not (len(b) >= t and len(s) >= t)  # t > n / 2: the two groups cannot both reach t
    recovered = recover(victim, b, s, masked[victim], keys)
    assert recovered is None or not np.array_equal(recovered, encoded[victim])


@FEW
@given(n=st.integers(3, 30), data=st.data())
def test_asking_the_same_clients_twice_is_refused(n, data):
    t = data.draw(st.integers(S.min_threshold(n), n))
    victim = data.draw(st.integers(0, n - 1))
    vectors = [np.full(2, float(u)) for u in range(n)]
    clients, keys, encoded, masked = client_rounds(vectors, t,
                                                   seed=data.draw(st.integers(0, 2**32)))
    everyone, without = list(range(n)), [u for u in range(n) if u != victim]
    first, second = (everyone, without) if data.draw(st.booleans()) else (without, everyone)
    if len(without) < t:  # the shorter list is refused outright
        assert answer_or_refuse(clients[0], without) is None
        first = second = everyone
    b, s = [], []
    for client in clients:
        for survivors in (first, second):
            reply = answer_or_refuse(client, survivors)
            if reply is not None:
                b += [reply.b_shares[victim]] if victim in reply.b_shares else []
                s += [reply.s_sk_shares[victim]] if victim in reply.s_sk_shares else []
        assert not (client.revealed_b & client.revealed_s)
    assert not (b and s)  # only one kind of share of the victim ever left the clients
    # the same list again gets the same answer
    assert answer_or_refuse(clients[0], first) is not None


def test_a_second_different_list_names_the_rule():
    clients, *_ = client_rounds([np.ones(2)] * 7, 4, seed=2)
    clients[0].unmasking_reply(range(7))
    with pytest.raises(S.ProtocolError, match=r"already answered .* would reveal both the b-share "
                       r"and the s-share of clients \[6\] \(rules: one answer per round; never "
                       r"both shares"):
        clients[0].unmasking_reply(range(6))


@pytest.mark.parametrize("survivors, message", [
    ([], r"survivor list \[\] has 0 members, fewer than the threshold t = 4 "
         r"\(rule: at least t survivors\)"),
    ([0, 1, 2], r"has 3 members, fewer than the threshold t = 4"),
    ([0, 0, 0, 1, 2], r"has 3 members, fewer than"),  # repeats do not count
    ([0, 1, 2, 9], r"names clients \[9\] that sent it no shares"),
])
def test_a_short_or_invented_survivor_list_is_refused(survivors, message):
    clients, *_ = client_rounds([np.ones(2)] * 7, 4, seed=3)
    with pytest.raises(S.ProtocolError, match=message):
        clients[1].unmasking_reply(survivors)
    assert clients[1].answered is None and not clients[1].revealed_s  # nothing revealed


def test_client_refuses_a_threshold_of_half_or_less():
    assert [S.min_threshold(n) for n in (2, 3, 4, 7, 10, 11)] == [2, 2, 3, 4, 6, 6]
    with pytest.raises(ValueError, match=r"threshold must be an integer between 4 and 7 "
                       r"\(more than half of num_clients=7"):
        S.Client(0, 7, 3)
    with pytest.raises(ValueError, match=r"threshold must be an integer between 6 and 10 "
                       r"\(more than half of the 10 clients"):
        S.secure_sum([np.ones(2)] * 10, 5)
    with pytest.raises(ValueError, match=r"client must be an integer between 0 and 6"):
        S.Client(7, 7, 4)


# --------------------------------------------------------------------- tampering, by message kind


def test_a_changed_share_ciphertext_is_refused_with_a_message():
    def tamper(inbox):
        m = inbox[1][0]
        inbox[1][0] = S.EncryptedShares(m.sender, m.recipient, m.nonce, flip_byte(m.ciphertext))

    clients, *_ = client_rounds([np.ones(2)] * 4, 3, seed=6, tamper_inbox=tamper)
    with pytest.raises(S.ProtocolError, match=r"client 1: the share message from client 0 failed "
                       r"authentication \(AES-GCM tag\)"):
        clients[1].unmasking_reply(range(4))


def test_a_share_message_sent_to_the_wrong_client_is_refused():
    def forward_to_2(inbox):
        m = inbox[1][0]
        # relabelled for client 2
        inbox[2][0] = S.EncryptedShares(m.sender, 2, m.nonce, m.ciphertext)

    clients, *_ = client_rounds([np.ones(2)] * 4, 3, seed=6, tamper_inbox=forward_to_2)
    with pytest.raises(S.ProtocolError,
                       match=r"client 2: the share message from client 0 failed authentication"):
        clients[2].unmasking_reply(range(4))
    c = S.Client(3, 4, 3)
    with pytest.raises(S.ProtocolError, match=r"client 3 was handed a share message 0 -> 1"):
        c.receive_shares({0: S.EncryptedShares(0, 1, bytes(12), bytes(88))})


def test_a_swapped_public_key_for_encryption_is_caught():
    randbytes = random.Random(8).randbytes
    clients = [S.Client(u, 4, 3, randbytes) for u in range(4)]
    keys = {u: c.public_keys for u, c in enumerate(clients)}
    _, stranger = S.advertise_keys(0, randbytes)
    # the server shows client 0 a c_pk for client 2 that is not client 2's
    forged = {**keys, 2: S.AdvertisedKeys(2, stranger.c_pk, keys[2].s_pk)}
    inbox = {v: {} for v in range(4)}
    for u in range(4):
        for v, message in clients[u].share_keys(forged if u == 0 else keys).items():
            inbox[v][u] = message
    for v in range(4):
        clients[v].receive_shares(inbox[v])
    with pytest.raises(S.ProtocolError,
                       match=r"client 2: the share message from client 0 failed authentication"):
        clients[2].unmasking_reply(range(4))


def test_a_changed_masked_vector_goes_unnoticed_by_the_semi_honest_protocol():
    # The limit the docstring states: nothing else depends on y_u, so a change shifts the sum.
    vectors = [np.full(3, float(u)) for u in range(5)]
    clients, keys, encoded, masked = client_rounds(vectors, 3, seed=9)
    replies = [c.unmasking_reply(range(5)) for c in clients]
    masked[2] = (masked[2] + np.uint64(2**16)) & np.uint64(2**32 - 1)  # +1.0 at step 2^-16
    total = S.decode(S.unmasking(masked, replies, keys, 3, 32))
    np.testing.assert_array_equal(total, np.full(3, 10.0 + 1.0))  # wrong by the change, no error


def test_a_swapped_mask_key_goes_unnoticed_by_the_semi_honest_protocol():
    # The other limit: without the paper's signatures a forged s_pk only spoils the masks.
    randbytes = random.Random(10).randbytes
    n = 4
    clients = [S.Client(u, n, 3, randbytes) for u in range(n)]
    keys = {u: c.public_keys for u, c in enumerate(clients)}
    _, stranger = S.advertise_keys(0, randbytes)
    forged = {**keys, 3: S.AdvertisedKeys(3, keys[3].c_pk, stranger.s_pk)}
    inbox = {v: {} for v in range(n)}
    for u in range(n):
        for v, message in clients[u].share_keys(keys).items():
            inbox[v][u] = message
    for v in range(n):
        clients[v].receive_shares(inbox[v])
    clients[0].keys = forged  # client 0 masks with the forged key
    masked = {u: clients[u].masked_input(S.encode(np.ones(3), n), 32) for u in range(n)}
    replies = [c.unmasking_reply(range(n)) for c in clients]
    total = S.decode(S.unmasking(masked, replies, keys, 3, 32))
    assert not np.allclose(total, 4.0)


@FEW
@given(n=st.integers(3, 30), data=st.data())
def test_a_changed_share_in_a_reply_is_caught_when_spare_replies_exist(n, data):
    t = data.draw(st.integers(S.min_threshold(n), n))
    answering = data.draw(st.integers(t, n))
    late = data.draw(st.booleans()) and n - 1 >= t  # one client dropped: its s-share is rebuilt
    survivors = list(range(n - 1)) if late else list(range(n))
    answering = min(answering, len(survivors))
    vectors = [np.full(2, float(u)) for u in range(n)]
    clients, keys, encoded, masked = client_rounds(vectors, t,
                                                   seed=data.draw(st.integers(0, 2**32)))
    masked = {u: masked[u] for u in survivors}
    replies = [clients[u].unmasking_reply(survivors) for u in survivors[:answering]]
    liar = data.draw(st.integers(0, answering - 1))
    field = "s_sk_shares" if late and data.draw(st.booleans()) else "b_shares"
    shares = dict(getattr(replies[liar], field))
    target = data.draw(st.sampled_from(sorted(shares)))
    delta = data.draw(st.integers(1, S.PRIME - 1))
    shares[target] = (shares[target][0], (shares[target][1] + delta) % S.PRIME)
    bad = S.UnmaskingReply(replies[liar].client, **{**{"b_shares": replies[liar].b_shares,
                                                        "s_sk_shares": replies[liar].s_sk_shares},
                                                     field: shares})
    replies[liar] = bad
    if answering >= t + 2:
        with pytest.raises(S.ProtocolError, match=f"client {bad.client}'s share disagrees"):
            S.unmasking(masked, replies, keys, t, 32)
    elif answering == t + 1:
        with pytest.raises(S.ProtocolError, match="cannot be told which"):
            S.unmasking(masked, replies, keys, t, 32)
    else:  # exactly t: not detectable (secure_sum flags shares_checked=False)
        total = S.decode(S.unmasking(masked, replies, keys, t, 32))  # no error
        rebuilt = S.shamir_reconstruct([getattr(r, field)[target] for r in replies])
        if field == "b_shares":  # a wrong seed, a wrong self mask: a wrong sum
            assert rebuilt != clients[target].secrets.b
            assert not np.allclose(total, sum(float(u) for u in survivors))
        else:  # a wrong s^SK; X25519 ignores its 3 low bits and top bit, so it may still work
            assert rebuilt != clients[target].secrets.s_sk


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
    with pytest.raises(ValueError, match=r"threshold must be an integer between 1 and 3 "
                       r"\(at most num_shares\), got 4"):
        S.shamir_share(5, 4, 3)
    with pytest.raises(TypeError, match="num_shares must be an integer >= 1, got 3.0"):
        S.shamir_share(5, 2, 3.0)
    with pytest.raises(ValueError, match="distinct x-coordinates"):
        S.shamir_reconstruct([(1, 2), (1, 3)])


# --------------------------------------------------------------------- fixed point


@FAST
@given(
    n=st.integers(1, 50),
    d=st.integers(1, 20),
    modulus_bits=st.integers(8, 54),
    exponent=st.integers(-20, 4),
    odd_step=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_decoded_sum_of_encodings_is_within_the_bound(n, d, modulus_bits, exponent, odd_step,
                                                      seed):
    step = 2.0**exponent * (0.7 if odd_step else 1.0)
    if S._max_units(n, modulus_bits) < 1:
        return
    limit = S.max_abs_value(n, modulus_bits, step)
    rng = np.random.default_rng(seed)
    vectors = [rng.uniform(-limit, limit, d) for _ in range(n)]
    total = np.zeros(d, dtype=np.uint64)
    for x in vectors:
        encoded = S.encode(x, n, modulus_bits, step)
        assert_within_bound(S.decode(encoded, modulus_bits, step), [x], [0],
                            S._error_bound(1, modulus_bits, step))
        total += encoded
    assert_within_bound(S.decode(total, modulus_bits, step), vectors, range(n),
                        S._error_bound(n, modulus_bits, step))


def test_encode_range_edges():
    limit = S.max_abs_value(4, 16, 2.0**-8)
    assert limit == (2**15 - 1) // 4 * 2.0**-8
    np.testing.assert_array_equal(
        S.decode(S.encode([limit, -limit, 0.0], 4, 16, 2.0**-8), 16, 2.0**-8),
        [limit, -limit, 0.0])
    with pytest.raises(ValueError, match=r"x\[1\] = .* outside the fixed-point range "
                       r"\[-31.9961, 31.9961\] allowed for num_clients=4"):
        S.encode([0.0, limit + 2.0**-8], 4, 16, 2.0**-8)
    assert S.encode([-1.0], 1, 8, 1.0)[0] == 255  # negatives wrap to the top of Z_{2^k}


def test_encode_needs_the_number_of_clients_so_sums_cannot_wrap():
    with pytest.raises(TypeError, match="num_clients"):
        S.encode([1.0], modulus_bits=8, step=1.0)
    x = S.max_abs_value(3, 8, 1.0)  # three encodings of the largest value sum without wrapping
    assert S.decode(sum(S.encode([x], 3, 8, 1.0) for _ in range(3)), 8, 1.0)[0] == 3 * x


# --------------------------------------------------------------------- bad input


GOOD = [np.zeros(3), np.ones(3), np.ones(3), np.ones(3)]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(threshold=5), ValueError,
         r"threshold must be an integer between 3 and 4 \(more than half of the 4 clients, "
         r"at most all of them\), got 5"),
        (dict(threshold=2), ValueError, r"threshold must be an integer between 3 and 4 .*got 2"),
        (dict(threshold=2.5), TypeError, r"threshold must be an integer between 3 and 4"),
        (dict(threshold=3, dropouts=[0, 1]), ValueError,
         r"only 2 clients survived but threshold is 3; the sum cannot be recovered"),
        (dict(threshold=3, late_dropouts=[0, 3]), ValueError,
         r"only 2 clients survived to the unmasking round but threshold is 3"),
        (dict(threshold=3, key_dropouts=[0, 3]), ValueError,
         r"only 2 clients shared their keys but threshold is 3"),
        (dict(threshold=3, dropouts=[4]), ValueError,
         r"every entry of dropouts must be an integer between 0 and 3"),
        (dict(threshold=3, late_dropouts=[-1]), ValueError,
         r"every entry of late_dropouts must be an integer between 0 and 3"),
        (dict(threshold=3, dropouts=[1], late_dropouts=[1]), ValueError,
         r"clients \[1\] are in both dropouts and late_dropouts"),
        (dict(threshold=3, key_dropouts=[2], dropouts=[2]), ValueError,
         r"clients \[2\] are in both key_dropouts and dropouts"),
        (dict(threshold=3, modulus_bits=7), ValueError,
         r"modulus_bits must be an integer between 8 and 54"),
        (dict(threshold=3, modulus_bits=55), ValueError,
         r"modulus_bits must be an integer between 8 and 54 \(float64 holds"),
        (dict(threshold=3, step=0.0), ValueError, r"step must be a finite number > 0, got 0.0"),
        (dict(threshold=3, step=float("inf")), ValueError,
         r"step must be a finite number > 0, got inf"),
        (dict(threshold=3, step=-1.0), ValueError, r"step must be a finite number > 0"),
        (dict(threshold=3, step="0.1"), TypeError, r"step must be a finite number > 0, got '0.1'"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message):
    with pytest.raises(error, match=message):
        S.secure_sum(GOOD, **kwargs)


def test_a_numpy_float32_step_is_accepted():
    result = S.secure_sum(GOOD, 3, seed=0, step=np.float32(1e-3))
    assert_within_bound(result.total, GOOD, range(4), result.error_bound)


@pytest.mark.parametrize(
    "vectors, error, message",
    [
        ([], ValueError,
         r"vectors holds 0 client\(s\): secure aggregation needs at least 2 clients"),
        ([np.zeros(3)], ValueError,
         r"vectors holds 1 client\(s\): secure aggregation needs at least 2 clients"),
        ([np.zeros(3), np.zeros(3), np.zeros(2)], ValueError,
         r"same length: vectors\[0\] has length 3, vectors\[2\] has length 2"),
        ([np.zeros(0), np.zeros(0)], ValueError,
         r"vectors\[0\] must be a non-empty 1-D vector, got shape \(0,\)"),
        ([np.zeros((2, 2)), np.zeros((2, 2))], ValueError,
         r"vectors\[0\] must be a non-empty 1-D vector, got shape \(2, 2\)"),
        ([np.zeros(3), [0.0, np.nan, 0.0]], ValueError,
         r"vectors\[1\]: x\[1\] = nan is not finite"),
        ([np.zeros(3), [0.0, 0.0, -np.inf]], ValueError,
         r"vectors\[1\]: x\[2\] = -inf is not finite"),
        ([np.zeros(3), [0.0, 0.0, 2e4]], ValueError,
         r"vectors\[1\]: x\[2\] = 20000.0 is outside the fixed-point range \[-16384, 16384\] "
         r"allowed for num_clients=2, modulus_bits=32"),
        ([np.zeros(3), np.array([0, 1j, 0])], TypeError,
         r"vectors\[1\] must hold real numbers, got dtype complex128"),
        ([np.zeros(3), [0, 0, 1 + 2j, ]], TypeError, r"vectors\[1\] must hold real numbers"),
        ([np.zeros(3), ["a", "b", "c"]], TypeError,
         r"vectors\[1\] must hold real numbers, got dtype <U1"),
        ([np.zeros(1), [2**53 + 1]], ValueError,
         r"vectors\[1\]\[0\] = 9007199254740993 is an integer beyond 2\^53"),
        ([np.zeros(1), [2**70]], ValueError,
         r"vectors\[1\]\[0\] = 1180591620717411303424 is an integer beyond 2\^53"),
        ([np.zeros(1), np.array([-(2**53) - 1], np.int64)], ValueError,
         r"vectors\[1\]\[0\] = -9007199254740993 is an integer beyond"),
        ([np.zeros(1), np.array([2**63], np.uint64)], ValueError,
         r"vectors\[1\]\[0\] = 9223372036854775808 is an integer beyond"),
    ],
)
def test_bad_vectors_raise(vectors, error, message):
    with pytest.raises(error, match=message):
        S.secure_sum(vectors, 2)


def test_share_keys_needs_ids_0_to_n_minus_1():
    randbytes = random.Random(1).randbytes
    me, _ = S.advertise_keys(0, randbytes)
    keys = {u: S.advertise_keys(u, randbytes)[1] for u in (0, 1, 5)}
    with pytest.raises(ValueError, match=r"keys must map the client ids 0..n-1, "
                       r"including this client \(0\).*got ids \[0, 1, 5\]"):
        S.share_keys(me, keys, 2)


def test_masked_input_collection_needs_an_encoded_vector():
    state, keys, *_ = stateless_rounds([np.ones(3)] * 3, 2, seed=1)
    with pytest.raises(TypeError,
                       match=r"x must be an encoded vector .* got dtype float64; call encode"):
        S.masked_input_collection(state[0], np.ones(3), keys, 32)
    with pytest.raises(ValueError, match=r"x must hold integers in \[0, 2\^8\)"):
        S.masked_input_collection(state[0], np.array([256], np.uint64), keys, 8)


def test_decode_needs_integers():
    with pytest.raises(TypeError, match="v must hold integers"):
        S.decode(np.array([1.5]))


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
    # 7 clients, 10 values, k = 20 -> 200 bits = 25 bytes; client 6 drops after AdvertiseKeys,
    # client 2 before sending its masked input, client 3 before Unmasking.
    result = S.secure_sum([np.ones(10)] * 7, 4, dropouts=[2], seed=0, late_dropouts=[3],
                          key_dropouts=[6], modulus_bits=20, step=2.0**-4)
    assert result.plain_bytes == 25
    assert result.bytes_sent[0] == S.ByteCount(64, 6 * 104, 25, 6 * 32)  # 5 b-shares, 1 s-share
    assert result.bytes_sent[2] == S.ByteCount(64, 6 * 104, 0, 0)
    assert result.bytes_sent[3] == S.ByteCount(64, 6 * 104, 25, 0)
    assert result.bytes_sent[6] == S.ByteCount(64, 0, 0, 0)
    assert result.expansion == (64 + 624 + 25 + 192) / 25


def test_counted_sizes_are_the_real_message_sizes():
    state, keys, inbox, _, masked = stateless_rounds([np.ones(10)] * 3, 2, seed=9)
    assert all(len(k.c_pk) == len(k.s_pk) == S.PUBLIC_KEY_BYTES for k in keys.values())
    for message in inbox[0].values():
        assert (S.ID_BYTES + len(message.nonce) + len(message.ciphertext)
                == S.SHARE_MESSAGE_BYTES == 104)
    assert all(0 <= y < S.PRIME
               for reply in [S.unmasking_reply(state[0], inbox[0], keys, [0, 1, 2])]
               for _, y in reply.b_shares.values())
    assert all(int(y.max()) < 2**32 for y in masked.values())  # fits the 32 bits counted per value


def test_the_modulus_bits_range_is_what_encode_accepts():
    for k in (S.MIN_MODULUS_BITS, S.MAX_MODULUS_BITS):
        assert S.decode(S.encode(np.array([0.5]), 2, k, step=0.5), k, step=0.5)[0] == 0.5
    for k in (S.MIN_MODULUS_BITS - 1, S.MAX_MODULUS_BITS + 1):
        with pytest.raises(ValueError, match=f"modulus_bits must be an integer between "
                                             f"{S.MIN_MODULUS_BITS} and {S.MAX_MODULUS_BITS}"):
            S.encode(np.array([0.5]), 2, k)
