"""Secure aggregation (Bonawitz et al. 2017), simulated in one process for teaching.

Taught in ``notebooks/04_secure_aggregation.ipynb``. The paper: K. Bonawitz et al.,
"Practical Secure Aggregation for Privacy-Preserving Machine Learning", ACM CCS 2017,
arXiv:1611.04482. The server learns ``sum_u x_u`` over the clients that sent an input,
and nothing else about any single ``x_u``, even when clients drop out midway.

Every message goes through the server, which here is a plain function call, but the
cryptography is real:

* ``KA`` (key agreement): X25519 Diffie-Hellman, then HKDF-SHA256 down to 32 bytes.
* ``AE`` (encryption of the secret shares): AES-256-GCM.
* ``PRG``: AES-256 in counter mode keyed with the seed, read as 32-bit words (64-bit
  if k > 32) of which the low ``k`` bits are kept: uniform words have uniform low bits.
  Unlike numpy's PCG64, whose state can be read back from its output, this is a
  cryptographic PRG, and AES-NI makes it fast (about 0.1 ms per 10^5 words).
* ``SS`` (secret sharing): Shamir t-out-of-n over the prime field ``p = 2^255 - 19``,
  big enough to hold an X25519 secret key as one field element.

What holds, and what does not:

* Clients keep state, as the paper's do (:class:`Client`): in Unmasking a client refuses a
  survivor list with fewer than t members or naming clients it holds no shares of, and
  answers once; a second, different list is refused, so it never reveals both the share of
  b_v and the share of s_v^SK of one client v. With t > n/2 (enforced by :class:`Client`
  and :func:`secure_sum`) a server that sends different lists to different clients cannot
  collect t shares of both secrets of any client: each client gives at most one of the two.
  :func:`unmasking_reply` is the stateless version, which answers whatever it is asked; a
  lying server can exploit it, and notebook 04 shows how.
* The server uses every reply: with more than t of them it checks that the shares of each
  secret lie on one polynomial of degree t - 1, and raises :class:`ProtocolError` naming the
  client whose share disagrees. With exactly t replies a bad share cannot be detected
  (``SecureSumResult.shares_checked`` is False).
* This is the honest-but-curious (semi-honest) version: the signatures and the
  ConsistencyCheck round of the paper's malicious-secure version are left out. So some
  tampering goes unnoticed: a changed masked vector y_u shifts the sum by exactly the change
  (nothing else in the protocol depends on y_u), and a public key swapped by the server makes
  the masks not cancel. Catching those needs the paper's signatures and consistency checks,
  or verifiable secret sharing and proofs about the inputs.
* Numbers: inputs are encoded in fixed point and summed exactly in the integers mod 2^k
  (k <= 54, so that every sum is an integer float64 holds exactly); ``error_bound`` bounds
  the difference from the exact real sum for every accepted input.

Clients are numbered ``0 .. n-1``; client ``v`` holds the Shamir shares at ``x = v + 1``.
Passing ``seed`` makes a run reproducible (keys included) and is for demos and tests only.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import random
import secrets
from typing import Callable, Sequence

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedlab._checks import check_int, check_number

__all__ = [
    "encode", "decode", "max_abs_value", "prg", "self_mask", "agree", "shamir_share",
    "shamir_reconstruct", "advertise_keys", "share_keys", "masked_input_collection",
    "unmasking_reply", "unmasking", "unmask_single", "secure_sum", "min_threshold", "Client",
    "ProtocolError", "ClientSecrets", "AdvertisedKeys", "EncryptedShares", "UnmaskingReply",
    "ByteCount", "SecureSumResult",
]

PRIME = 2**255 - 19  # Shamir field; also the Curve25519 prime
DEFAULT_STEP = 2.0**-16  # fixed-point resolution
MIN_MODULUS_BITS = 8  # k, the smallest: inputs live in Z_{2^k}
MAX_MODULUS_BITS = 54  # k, the largest: keeps every sum below 2^53 in size
MIN_THRESHOLD = 2  # t = 1 would hand every secret to whoever holds one share
EXACT_INTEGERS = 2**53  # float64 holds every integer up to this size exactly
PUBLIC_KEY_BYTES, FIELD_BYTES, ID_BYTES, NONCE_BYTES, TAG_BYTES = 32, 32, 4, 12, 16
SHARE_MESSAGE_BYTES = ID_BYTES + NONCE_BYTES + 2 * ID_BYTES + 2 * FIELD_BYTES + TAG_BYTES
MASK_INFO, SHARE_INFO = b"secagg pairwise mask seed", b"secagg share encryption key"

RandBytes = Callable[[int], bytes]


class ProtocolError(ValueError):
    """A client or the server refuses a message that breaks a rule of the protocol."""


# ----------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class ClientSecrets:
    """What client u never sends: its DH secret keys c_u^SK, s_u^SK and self-mask seed b_u."""

    client: int
    c_sk: int  # secret key for encrypting shares, as a field element
    s_sk: int  # secret key for the pairwise masks; Shamir-shared in ShareKeys
    b: int | None = None  # self-mask seed, drawn in ShareKeys


@dataclasses.dataclass(frozen=True)
class AdvertisedKeys:
    """Round 0 message of client u: its two X25519 public keys c_u^PK and s_u^PK."""

    client: int
    c_pk: bytes
    s_pk: bytes


@dataclasses.dataclass(frozen=True)
class EncryptedShares:
    """Round 1 message e_{u,v}: AE.enc(KA(c_u, c_v), u || v || share of s_u^SK || share of b_u)."""

    sender: int
    recipient: int
    nonce: bytes
    ciphertext: bytes


@dataclasses.dataclass(frozen=True)
class UnmaskingReply:
    """Round 4 message of a client: shares of b_v for survivors v, of s_v^SK for dropped v."""

    client: int
    b_shares: dict[int, tuple[int, int]]
    s_sk_shares: dict[int, tuple[int, int]]


@dataclasses.dataclass(frozen=True)
class ByteCount:
    """Bytes one client sent in each round."""

    advertise_keys: int = 0
    share_keys: int = 0
    masked_input_collection: int = 0
    unmasking: int = 0

    @property
    def total(self) -> int:
        return (self.advertise_keys + self.share_keys + self.masked_input_collection
                + self.unmasking)


@dataclasses.dataclass(frozen=True)
class SecureSumResult:
    """Outcome of :func:`secure_sum`: the sum, what the server saw, and the traffic."""

    total: np.ndarray  # decoded float sum over the survivors
    encoded_total: np.ndarray  # the same sum in Z_{2^k}, as uint64
    masked_inputs: dict[int, np.ndarray]  # y_u: all the server ever saw of the inputs
    survivors: tuple[int, ...]  # U3: clients whose masked input counts
    dropped: tuple[int, ...]  # clients whose input does not count (vanished before sending it)
    error_bound: float  # |total - exact real sum over the survivors| <= this, in every coordinate
    shares_checked: bool  # more than t replies: every share was checked against the others
    bytes_sent: dict[int, ByteCount]
    plain_bytes: int  # sending the encoded vector in the clear: ceil(d * k / 8)

    @property
    def expansion(self) -> float:
        """Bytes sent by a client that took part in every round / plain_bytes."""
        return max(count.total for count in self.bytes_sent.values()) / self.plain_bytes


# ----------------------------------------------------------------- fixed point


def _check_fixed_point(modulus_bits: int, step) -> float:
    """Checks k and step; returns step as a Python float."""
    check_int("modulus_bits", modulus_bits, MIN_MODULUS_BITS, MAX_MODULUS_BITS,
              " (float64 holds every integer sum exactly up to 2^53)")
    return check_number("step", step, 0, low_open=True)


def _low_bits(modulus_bits: int) -> np.uint64:
    return np.uint64((1 << modulus_bits) - 1)


def _word(modulus_bits: int) -> type:
    """Masks are computed in uint32 when k <= 32 (half the work), else in uint64."""
    return np.uint32 if modulus_bits <= 32 else np.uint64


def _max_units(num_clients: int, modulus_bits: int) -> int:
    return (2 ** (modulus_bits - 1) - 1) // num_clients


def _error_bound(num_summed: int, modulus_bits: int, step: float) -> float:
    """|decode(sum of encodings) - exact sum| for num_summed inputs, each in range.

    Each encoding rounds x / step to an integer: at most step / 2 off. With a power-of-two
    step nothing else rounds (x / step and n * step are exact, the sum is an integer below
    2^53). Otherwise x / step and the final product each round in float64 by at most
    2^-53 of their size, which is below 2^(k-1) steps: 2^(k-52) * step covers both.
    """
    bound = num_summed * step / 2
    if math.frexp(step)[0] != 0.5:  # not a power of two
        bound += 2.0 ** (modulus_bits - 52) * step
    return bound


def max_abs_value(num_clients: int, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> float:
    """Largest |x| that :func:`encode` accepts: a sum of num_clients encodings cannot wrap
    around."""
    step = _check_fixed_point(modulus_bits, step)
    limit = _max_units(check_int("num_clients", num_clients, 1, 2 ** (modulus_bits - 1) - 1),
                       modulus_bits)
    value = limit * step
    while int(np.rint(value / step)) > limit:  # float rounding can land a step too high
        value = math.nextafter(value, 0.0)
    return value


def _real_vector(x, name: str = "x") -> np.ndarray:
    """x as a 1-D float64 vector, refusing complex values and integers float64 cannot hold."""
    raw = np.asarray(x)
    if raw.dtype.kind == "O":
        items = raw.ravel().tolist()
        for i, value in enumerate(items):
            if isinstance(value, complex):
                raise TypeError(f"{name} must hold real numbers, got the complex value "
                                f"{name}[{i}] = {value}")
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
                raise TypeError(f"{name} must hold real numbers, got {name}[{i}] = {value!r}")
    elif raw.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}; "
                        "pass x.real if that is meant")
    elif raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    if raw.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {raw.shape}")
    if raw.dtype.kind in "iu":  # integers beyond 2^53 would be rounded by float64
        big = np.flatnonzero(raw > EXACT_INTEGERS) if raw.dtype.kind == "u" else \
            np.flatnonzero((raw > EXACT_INTEGERS) | (raw < -EXACT_INTEGERS))
    elif raw.dtype.kind == "O":
        big = [i for i, value in enumerate(raw.tolist())
               if isinstance(value, (int, np.integer)) and abs(int(value)) > EXACT_INTEGERS]
    else:
        big = []
    if len(big):
        i = int(big[0])
        raise ValueError(f"{name}[{i}] = {raw[i]} is an integer beyond 2^53, which float64 "
                         "cannot hold exactly; scale the inputs down")
    return raw.astype(np.float64)


def encode(x, num_clients: int, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> np.ndarray:
    """Round x / step to the nearest integer and store it mod 2^k (negatives wrap to the top).

    ``num_clients`` is the number of encodings that will be summed: it sets the range.

    Raises:
        TypeError: x holds complex or non-numeric values.
        ValueError: a value is not finite, is an integer beyond 2^53, or rounds outside
            ``[-max_abs_value(num_clients, ...), max_abs_value(num_clients, ...)]``, the range
            in which the sum of num_clients encodings cannot overflow.
    """
    step = _check_fixed_point(modulus_bits, step)
    num_clients = check_int("num_clients", num_clients, 1, 2 ** (modulus_bits - 1) - 1)
    x = _real_vector(x)
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"x[{i}] = {x[i]} is not finite; only finite values can be encoded")
    limit = _max_units(num_clients, modulus_bits)
    units = np.rint(x / step)
    over = np.abs(units) > float(limit)  # coarse check first, so the int64 cast is safe
    if not over.any():
        units = units.astype(np.int64)
        over = np.abs(units) > limit  # exact check
    if over.any():
        i, bound = int(np.argmax(over)), max_abs_value(num_clients, modulus_bits, step)
        raise ValueError(
            f"x[{i}] = {x[i]} is outside the fixed-point range [-{bound:.6g}, {bound:.6g}] "
            f"allowed for num_clients={num_clients}, modulus_bits={modulus_bits}, step={step:g}; "
            "use more modulus_bits, a larger step, or clip the inputs"
        )
    return units.astype(np.uint64) & _low_bits(modulus_bits)


def decode(v, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> np.ndarray:
    """Inverse of :func:`encode`, also for a sum of encodings (the top half of Z_{2^k} is < 0).

    If v is the sum mod 2^k of the encodings of x_1..x_n, each within
    ``max_abs_value(n, ...)``, then ``|decode(v) - (x_1 + ... + x_n)| <= n * step / 2``
    when step is a power of two (nothing else rounds: k <= 54 keeps the integer sum exact in
    float64), and ``<= n * step / 2 + 2^(k-52) * step`` for any other step.
    """
    step = _check_fixed_point(modulus_bits, step)
    v = np.asarray(v)
    if v.dtype.kind not in "ui":
        raise TypeError("v must hold integers in [0, 2^k) (from encode or a sum of encodings), "
                        f"got dtype {v.dtype}")
    v = v.astype(np.uint64) & _low_bits(modulus_bits)
    signed = v.astype(np.int64)
    signed[v >= np.uint64(1 << (modulus_bits - 1))] -= np.int64(1 << modulus_bits)
    return signed.astype(np.float64) * step


# ----------------------------------------------------------------- primitives


def prg(seed: bytes, length: int, modulus_bits: int) -> np.ndarray:
    """PRG: expand a 32-byte seed into ``length`` uniform integers mod 2^modulus_bits.

    The words are uint32 when modulus_bits <= 32 (half the AES work), else uint64.
    """
    return _prg_into(seed, length, modulus_bits, np.empty(length + 2, dtype=np.uint64))


def _prg_into(seed: bytes, length: int, modulus_bits: int, out: np.ndarray) -> np.ndarray:
    """:func:`prg`, written into ``out`` and returned as a view of it.

    ``out``, a uint64 array of at least length + 2 words (``update_into`` wants 15 spare
    bytes), is overwritten and reused instead of allocating; the protocol's loops over many
    pairs pass one, since fresh 10^5-word arrays cost more in page faults than AES does.
    """
    word = _word(modulus_bits)
    words = out.view(word)[:length]
    words.fill(0)
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    # zeros -> key stream, in place
    encryptor.update_into(words.view(np.uint8), out.view(np.uint8))
    words &= word((1 << modulus_bits) - 1)
    return words


def self_mask(b: int, length: int, modulus_bits: int) -> np.ndarray:
    """PRG(b_u): client u's self mask, from its seed b_u."""
    return prg(b.to_bytes(FIELD_BYTES, "little"), length, modulus_bits)


def _self_mask_into(b: int, length: int, modulus_bits: int, out: np.ndarray) -> np.ndarray:
    """:func:`self_mask`, written into ``out`` (see :func:`_prg_into`)."""
    return _prg_into(b.to_bytes(FIELD_BYTES, "little"), length, modulus_bits, out)


def _dh_key(secret: int) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(secret.to_bytes(FIELD_BYTES, "little"))


def agree(secret_key: int | X25519PrivateKey, peer_public_key: bytes, purpose: bytes) -> bytes:
    """KA.agree: X25519 shared secret, then HKDF-SHA256 to a 32-byte seed or key for ``purpose``.

    ``agree(a_sk, B_pk, p) == agree(b_sk, A_pk, p)``: both ends of a pair get the same bytes.
    Pass a key object in loops: building one from an int costs more than the exchange.
    """
    if isinstance(secret_key, int):
        secret_key = _dh_key(secret_key)
    shared = secret_key.exchange(X25519PublicKey.from_public_bytes(peer_public_key))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(shared)


def _random_field_element(randbytes: RandBytes) -> int:
    """Uniform in [0, PRIME), by rejection; also a valid X25519 secret key."""
    while True:
        value = int.from_bytes(randbytes(FIELD_BYTES), "little") & (2**255 - 1)
        if value < PRIME:
            return value


def shamir_share(
    secret: int, threshold: int, num_shares: int, randbytes: RandBytes = secrets.token_bytes
) -> list[tuple[int, int]]:
    """SS.share: shares ``(x, f(x))`` for x = 1..num_shares of a random polynomial f with
    f(0) = secret.

    f has degree threshold - 1, so any ``threshold`` shares determine it and fewer say
    nothing about the secret.
    """
    if not 0 <= secret < PRIME:
        raise ValueError(f"secret must be in [0, 2^255 - 19), got {secret}")
    num_shares = check_int("num_shares", num_shares, 1)
    threshold = check_int("threshold", threshold, 1, num_shares, " (at most num_shares)")
    coefficients = [secret] + [_random_field_element(randbytes) for _ in range(threshold - 1)]
    shares = []
    for x in range(1, num_shares + 1):
        y = 0
        for c in reversed(coefficients):  # Horner's rule
            y = (y * x + c) % PRIME
        shares.append((x, y))
    return shares


def _lagrange_at(xs: Sequence[int], at: int = 0) -> list[int]:
    """Weights l_j with f(at) = sum_j l_j f(x_j) for every polynomial f of degree < len(xs)."""
    if not xs or len(set(xs)) != len(xs):
        raise ValueError(f"need at least one share and distinct x-coordinates, got x = {list(xs)}")
    weights = []
    for j, xj in enumerate(xs):
        num = den = 1
        for m, xm in enumerate(xs):
            if m != j:
                num, den = num * (at - xm) % PRIME, den * (xj - xm) % PRIME
        weights.append(num * pow(den, -1, PRIME) % PRIME)
    return weights


def shamir_reconstruct(shares: Sequence[tuple[int, int]]) -> int:
    """SS.recon: Lagrange interpolation at 0. With >= threshold shares this is the secret.

    Uses every share given; it does not check them (:func:`unmasking` does).
    """
    weights = _lagrange_at([x for x, _ in shares])
    return sum(w * y for w, (_, y) in zip(weights, shares)) % PRIME


def _weights_at(xs: Sequence[int], targets: Sequence[int]) -> list[list[int]]:
    """``_lagrange_at(xs, x)`` for each x in targets, in O(len(xs)) each (barycentric form).

    l_j(x) = prod_m (x - x_m) * w_j / (x - x_j) with w_j = 1 / prod_{m != j} (x_j - x_m);
    the x are small integers, so the inverses of their differences are few and cached.
    """
    bary = []
    for j, xj in enumerate(xs):
        den = 1
        for m, xm in enumerate(xs):
            if m != j:
                den = den * (xj - xm) % PRIME
        bary.append(pow(den, -1, PRIME))
    inverse: dict[int, int] = {}
    rows = []
    for x in targets:
        ell = 1
        for xm in xs:
            ell = ell * (x - xm) % PRIME
        row = []
        for j, xj in enumerate(xs):
            if x - xj not in inverse:
                inverse[x - xj] = pow(x - xj, -1, PRIME)
            row.append(ell * bary[j] % PRIME * inverse[x - xj] % PRIME)
        rows.append(row)
    return rows


def _off_polynomial(
    points: Sequence[tuple[int, int]], degree_bound: int, weights: list | None = None
) -> bool:
    """True if the points do not all lie on one polynomial of degree < degree_bound.

    The first degree_bound points fix the polynomial; each other point is checked against
    it. ``weights`` may hold ``_weights_at(first xs, the other xs)``, to reuse across secrets.
    """
    base, rest = points[:degree_bound], points[degree_bound:]
    if weights is None:
        weights = _weights_at([x for x, _ in base], [x for x, _ in rest])
    for w_rest, (_, y) in zip(weights, rest):
        if sum(w * yb for w, (_, yb) in zip(w_rest, base)) % PRIME != y:
            return True
    return False


# ----------------------------------------------------------------- the rounds (stateless)


def advertise_keys(
    client: int, randbytes: RandBytes = secrets.token_bytes
) -> tuple[ClientSecrets, AdvertisedKeys]:
    """Round 0 (AdvertiseKeys), client u: make key pairs (c_u^PK, c_u^SK), (s_u^PK, s_u^SK);
    send the PKs."""
    client = check_int("client", client, 0, 2**31 - 1)
    me = ClientSecrets(client, c_sk=_random_field_element(randbytes),
                       s_sk=_random_field_element(randbytes))
    c_pk, s_pk = (_dh_key(sk).public_key().public_bytes_raw() for sk in (me.c_sk, me.s_sk))
    return me, AdvertisedKeys(client, c_pk, s_pk)


def share_keys(
    me: ClientSecrets, keys: dict[int, AdvertisedKeys], threshold: int,
    randbytes: RandBytes = secrets.token_bytes
) -> tuple[ClientSecrets, dict[int, EncryptedShares]]:
    """Round 1 (ShareKeys), client u: draw b_u, Shamir-share s_u^SK and b_u, encrypt v's shares
    for v.

    ``keys`` are the public keys of U1, clients 0..n-1 (client v gets the shares at x = v + 1).
    The message to u itself is kept.
    """
    ids = sorted(keys)
    if ids != list(range(len(ids))) or me.client not in keys:
        raise ValueError(f"keys must map the client ids 0..n-1, including this client "
                         f"({me.client}), to their public keys (client v holds the share at "
                         f"x = v + 1), got ids {ids}")
    u, n = me.client, len(keys)
    threshold = check_int("threshold", threshold, MIN_THRESHOLD if n >= MIN_THRESHOLD else 1, n,
                           f" (the {n} clients in keys)")
    me = dataclasses.replace(me, b=_random_field_element(randbytes))
    s_shares = shamir_share(me.s_sk, threshold, n, randbytes)
    b_shares = shamir_share(me.b, threshold, n, randbytes)
    outgoing, c_sk = {}, _dh_key(me.c_sk)
    for v in ids:
        plaintext = b"".join(
            [u.to_bytes(ID_BYTES, "big"), v.to_bytes(ID_BYTES, "big"),
             s_shares[v][1].to_bytes(FIELD_BYTES, "little"),
             b_shares[v][1].to_bytes(FIELD_BYTES, "little")]
        )
        nonce = randbytes(NONCE_BYTES)
        ciphertext = AESGCM(agree(c_sk, keys[v].c_pk, SHARE_INFO)).encrypt(nonce, plaintext, None)
        outgoing[v] = EncryptedShares(u, v, nonce, ciphertext)
    return me, outgoing


def masked_input_collection(
    me: ClientSecrets, x: np.ndarray, keys: dict[int, AdvertisedKeys], modulus_bits: int
) -> np.ndarray:
    """Round 2 (MaskedInputCollection), client u: send y_u, all in Z_{2^k}.

    ``y_u = x_u + PRG(b_u) + sum_{v in U2, v > u} PRG(s_uv) - sum_{v in U2, v < u} PRG(s_uv)``,
    where s_uv = KA.agree(s_u^SK, s_v^PK) = s_vu, so over all of U2 the pairwise masks cancel.
    ``x`` is u's *encoded* input (:func:`encode`); ``keys`` are the public keys of U2.
    """
    check_int("modulus_bits", modulus_bits, MIN_MODULUS_BITS, MAX_MODULUS_BITS)
    x = np.asarray(x)
    if x.dtype.kind not in "ui":
        raise TypeError(
            f"x must be an encoded vector (integers in [0, 2^k) from encode()), got dtype "
            f"{x.dtype}; call encode(x, num_clients, modulus_bits, step) first")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty 1-D vector, got shape {x.shape}")
    if int(x.min()) < 0 or int(x.max()) >= 2**modulus_bits:
        raise ValueError(
            f"x must hold integers in [0, 2^{modulus_bits}) (an encoding with modulus_bits="
            f"{modulus_bits}), got values in [{int(x.min())}, {int(x.max())}]")
    if me.b is None:
        raise ValueError("me has no self-mask seed b: run share_keys first")
    u, length = me.client, len(x)
    s_sk, scratch = _dh_key(me.s_sk), np.empty(length + 2, dtype=np.uint64)
    y = x.astype(_word(modulus_bits)) + _self_mask_into(me.b, length, modulus_bits, scratch)
    for v in sorted(keys):
        if v != u:
            mask = _prg_into(agree(s_sk, keys[v].s_pk, MASK_INFO), length, modulus_bits, scratch)
            if v > u:
                y += mask  # wraps mod 2^32 or 2^64, both multiples of 2^k
            else:
                y -= mask
    return y.astype(np.uint64) & _low_bits(modulus_bits)


def unmasking_reply(
    me: ClientSecrets, received: dict[int, EncryptedShares], keys: dict[int, AdvertisedKeys],
    survivors: Sequence[int]
) -> UnmaskingReply:
    """Round 4 (Unmasking), client u, the stateless version: reveal b_v's share if v is in
    ``survivors``, else s_v^SK's, for every client v that sent u shares.

    It answers whatever it is asked, as often as it is asked: a server that lies (asks twice
    with different lists, sends different lists to different clients, or an empty list)
    collects both shares of one client and unmasks its input. :meth:`Client.unmasking_reply`
    adds the paper's checks; notebook 04 shows the difference.

    Raises:
        ProtocolError: a share message fails authentication (changed in transit, or not
            encrypted for this client) or is addressed to someone else.
    """
    survivors, c_sk = set(survivors), _dh_key(me.c_sk)
    b_shares, s_sk_shares = {}, {}
    for v, message in received.items():
        key = agree(c_sk, keys[v].c_pk, SHARE_INFO)
        try:
            plaintext = AESGCM(key).decrypt(message.nonce, message.ciphertext, None)
        except InvalidTag:
            raise ProtocolError(
                f"client {me.client}: the share message from client {v} failed authentication "
                "(AES-GCM tag): it was changed in transit or not encrypted for this client"
            ) from None
        sender, recipient = (int.from_bytes(plaintext[:4], "big"),
                             int.from_bytes(plaintext[4:8], "big"))
        if (sender, recipient) != (v, me.client):
            raise ProtocolError(f"client {me.client}: shares from client {v} were addressed "
                                f"{sender} -> {recipient}; aborting")
        s_share, b_share = (int.from_bytes(plaintext[8:40], "little"),
                            int.from_bytes(plaintext[40:], "little"))
        if v in survivors:
            b_shares[v] = (me.client + 1, b_share)
        else:
            s_sk_shares[v] = (me.client + 1, s_share)
    return UnmaskingReply(me.client, b_shares, s_sk_shares)


def unmasking(
    masked: dict[int, np.ndarray], replies: Sequence[UnmaskingReply],
    keys: dict[int, AdvertisedKeys], threshold: int, modulus_bits: int
) -> np.ndarray:
    """Round 4 (Unmasking), server: sum_{u in U3} x_u mod 2^k from the y_u of U3 and >= t replies.

    Rebuilds b_u for every survivor u and subtracts PRG(b_u); rebuilds s_v^SK for every
    dropped v (in U2 = ``keys`` but not in U3 = ``masked``) and takes v's pairwise masks
    back out of the survivors' y_u. Every reply is used: with more than t, the shares of each
    secret must lie on one polynomial of degree t - 1. With exactly t a bad share cannot be
    detected and gives a wrong sum.

    Raises:
        ValueError: fewer than t replies.
        ProtocolError: the replies' shares of a secret disagree (naming the client whose
            share does, when the others agree), or a reply lacks a share.
    """
    if len(replies) < threshold:
        raise ValueError(
            f"only {len(replies)} clients survived to the unmasking round but threshold is "
            f"{threshold}; the sum cannot be recovered"
        )
    replies = sorted(replies, key=lambda r: r.client)
    clients = [r.client for r in replies]
    if len(set(clients)) != len(clients):
        raise ProtocolError(f"two replies from the same client: {clients}")
    base_xs = [c + 1 for c in clients[:threshold]]  # client v holds x = v + 1
    base_weights = _lagrange_at(base_xs)
    # the same for every secret
    check_weights = _weights_at(base_xs, [c + 1 for c in clients[threshold:]])

    def rebuild(field: str, v: int, what: str) -> int:
        try:
            points = [getattr(r, field)[v] for r in replies]
        except KeyError:
            missing = [r.client for r in replies if v not in getattr(r, field)]
            raise ProtocolError(f"replies of clients {missing} hold no share of {what}") from None
        if len(points) > threshold and _off_polynomial(points, threshold, check_weights):
            raise ProtocolError(_blame(points, threshold, what))
        return sum(w * y for w, (_, y) in zip(base_weights, points)) % PRIME

    length = len(next(iter(masked.values())))
    z, scratch = np.zeros(length, dtype=np.uint64), np.empty(length + 2, dtype=np.uint64)
    for u in masked:
        z += masked[u]
        z -= _self_mask_into(rebuild("b_shares", u, f"b_{u}"), length, modulus_bits, scratch)
    for v in sorted(set(keys) - set(masked)):
        s_sk = _dh_key(rebuild("s_sk_shares", v, f"s_{v}^SK"))
        for u in masked:
            mask = _prg_into(agree(s_sk, keys[u].s_pk, MASK_INFO), length, modulus_bits, scratch)
            if v > u:  # u added +PRG(s_uv) for this v, and v's -PRG(s_uv) never arrived
                z -= mask
            else:
                z += mask
    return z & _low_bits(modulus_bits)


def _blame(points: Sequence[tuple[int, int]], threshold: int, what: str) -> str:
    """The message for shares of one secret that do not fit one polynomial of degree t - 1."""
    head = (f"the {len(points)} shares of {what} do not lie on one polynomial of degree "
            f"t - 1 = {threshold - 1}")
    if len(points) >= threshold + 2:  # leave each share out in turn: do the others agree?
        bad = [x - 1 for i, (x, _) in enumerate(points)
               if not _off_polynomial(points[:i] + points[i + 1:], threshold)]
        if len(bad) == 1:
            return f"{head}: client {bad[0]}'s share disagrees with the other {len(points) - 1}"
    return (f"{head}: at least one of clients {[x - 1 for x, _ in points]} sent a bad share "
            "(with t + 1 shares, or several bad ones, it cannot be told which)")


def unmask_single(
    y: np.ndarray, b: int, s_sk: int, client: int, keys: dict[int, AdvertisedKeys],
    modulus_bits: int
) -> np.ndarray:
    """x_u from y_u, b_u and s_u^SK: what a server holding both secrets of one client can do.

    The protocol exists to prevent this; notebook 04 uses it to show what a lying server
    gets from clients that keep no state. ``keys`` are the public keys of U2.
    """
    length = len(y)
    scratch = np.empty(length + 2, dtype=np.uint64)
    x = (np.asarray(y, dtype=np.uint64)
         - _self_mask_into(b, length, modulus_bits, scratch).astype(np.uint64))
    secret_key = _dh_key(s_sk)
    for v in sorted(keys):
        if v != client:
            mask = _prg_into(agree(secret_key, keys[v].s_pk, MASK_INFO), length, modulus_bits,
                             scratch).astype(np.uint64)
            x = x - mask if v > client else x + mask
    return x & _low_bits(modulus_bits)


# ----------------------------------------------------------------- a client with state


def min_threshold(num_clients: int) -> int:
    """Smallest t that :class:`Client` accepts: more than half of the clients (and at least 2).

    Taught in notebook 04 (and used in notebook 06's threshold exercise). Each client gives a
    lying server at most one of the two shares it holds of a client v (of b_v or of s_v^SK).
    Two disjoint groups of at least t clients would give both secrets, so t > n / 2 makes that
    impossible.
    """
    num_clients = check_int("num_clients", num_clients, 2, 2**31 - 1)
    return max(MIN_THRESHOLD, num_clients // 2 + 1)


class Client:
    """Client u for one run of the protocol, with the state the paper's clients keep.

    Taught in notebook 04. It holds its secrets (:class:`ClientSecrets`), the public keys
    and the encrypted shares it received, and what it revealed in Unmasking. Its
    :meth:`unmasking_reply` refuses, with :class:`ProtocolError`:

    * a survivor list with fewer than t members (or naming clients it holds no shares of);
    * a second answer with a different list: it answers once per round, so it never reveals
      both the share of b_v and the share of s_v^SK of the same client v.

    Together with t > n / 2 (:func:`min_threshold`) no strategy of a lying server gets t
    shares of both secrets of one client. The round functions it calls are the stateless
    ones above (:func:`share_keys`, :func:`masked_input_collection`, :func:`unmasking_reply`).
    """

    def __init__(self, client: int, num_clients: int, threshold: int,
                 randbytes: RandBytes = secrets.token_bytes):
        low = min_threshold(num_clients)
        self.num_clients = num_clients
        self.threshold = check_int(
            "threshold", threshold, low, num_clients,
            f" (more than half of num_clients={num_clients}, so that a server sending different "
            "survivor lists to different clients cannot collect t shares of both secrets of "
            "one client)")
        self.client = check_int("client", client, 0, num_clients - 1)
        self.randbytes = randbytes
        self.secrets, self.public_keys = advertise_keys(self.client, randbytes)  # Round 0
        self.keys: dict[int, AdvertisedKeys] = {}  # U1's public keys
        # e_{v,u} by sender v: U2 as this client sees it
        self.received: dict[int, EncryptedShares] = {}
        self.answered: frozenset[int] | None = None  # the survivor list it answered
        self.revealed_b: set[int] = set()  # clients v whose b_v share it revealed
        self.revealed_s: set[int] = set()  # clients v whose s_v^SK share it revealed

    def share_keys(self, keys: dict[int, AdvertisedKeys]) -> dict[int, EncryptedShares]:
        """Round 1: the encrypted shares for each client in ``keys`` (U1, clients 0..n-1)."""
        if self.keys:
            raise ProtocolError(f"client {self.client} already shared its keys in this round")
        if len(keys) != self.num_clients:
            raise ValueError(f"keys must hold the public keys of all {self.num_clients} clients, "
                             f"got {len(keys)}")
        if keys.get(self.client) != self.public_keys:
            raise ProtocolError(f"client {self.client}: keys holds a public key for this client "
                                "that it did not send")
        self.secrets, outgoing = share_keys(self.secrets, keys, self.threshold, self.randbytes)
        self.keys = dict(keys)
        return outgoing

    def receive_shares(self, messages: dict[int, EncryptedShares]) -> None:
        """Round 1, receiving end: keep the messages e_{v,u} the server forwards."""
        for v, message in messages.items():
            if message.recipient != self.client or message.sender != v or v not in self.keys:
                raise ProtocolError(f"client {self.client} was handed a share message "
                                    f"{message.sender} -> {message.recipient} under sender {v}")
            self.received[v] = message

    def masked_input(self, x: np.ndarray, modulus_bits: int) -> np.ndarray:
        """Round 2: y_u for the encoded input x, with pairwise masks for U2 (the clients that
        sent shares)."""
        if len(self.received) < self.threshold:
            raise ProtocolError(
                f"client {self.client} received shares from {len(self.received)} clients, "
                f"fewer than the threshold t = {self.threshold}; aborting")
        u2 = {v: self.keys[v] for v in self.received}
        return masked_input_collection(self.secrets, x, u2, modulus_bits)

    def unmasking_reply(self, survivors: Sequence[int]) -> UnmaskingReply:
        """Round 4: shares of b_v for v in survivors, of s_v^SK for the others of U2; once.

        Raises:
            ProtocolError: fewer than t survivors, survivors this client holds no shares of,
                or a second call with a different list.
        """
        listed = frozenset(int(v) for v in survivors)
        if len(listed) < self.threshold:
            raise ProtocolError(
                f"client {self.client} refuses: the survivor list {sorted(listed)} has "
                f"{len(listed)} members, fewer than the threshold t = {self.threshold} "
                "(rule: at least t survivors)")
        unknown = listed - set(self.received)
        if unknown:
            raise ProtocolError(f"client {self.client} refuses: the survivor list names clients "
                                f"{sorted(unknown)} that sent it no shares "
                                "(rule: survivors come from U2)")
        if self.answered is not None and listed != self.answered:
            both = sorted((listed & self.revealed_s)
                          | ((set(self.received) - listed) & self.revealed_b))
            raise ProtocolError(
                f"client {self.client} refuses: it already answered for survivors "
                f"{sorted(self.answered)}; answering for {sorted(listed)} would reveal both the "
                f"b-share and the s-share of clients {both} "
                "(rules: one answer per round; never both shares of one client)")
        reply = unmasking_reply(self.secrets, self.received, self.keys, sorted(listed))
        self.answered = listed
        self.revealed_b |= set(reply.b_shares)
        self.revealed_s |= set(reply.s_sk_shares)
        return reply


# ----------------------------------------------------------------- driver


def secure_sum(
    vectors: Sequence,
    threshold: int,
    dropouts: Sequence[int] = (),
    seed: int | None = None,
    *,
    late_dropouts: Sequence[int] = (),
    key_dropouts: Sequence[int] = (),
    modulus_bits: int = 32,
    step: float = DEFAULT_STEP,
) -> SecureSumResult:
    """Run the protocol for n = len(vectors) clients (:class:`Client`); return the sum over the
    survivors.

    Args:
        vectors: one 1-D real vector per client, all the same length.
        threshold: t, with n / 2 < t <= n (and t >= 2); the server needs t clients in every
            round, and t > n / 2 keeps a lying server from getting both secrets of a client.
        dropouts: clients that vanish after ShareKeys, before sending their masked input.
        seed: None draws all secrets from ``secrets``; an int makes the run reproducible.
        late_dropouts: clients that send their masked input, then vanish before Unmasking.
        key_dropouts: clients that vanish after AdvertiseKeys, before ShareKeys.
        modulus_bits: k, the inputs and masks live in Z_{2^k}; 8 to 54.
        step: the fixed-point resolution; see :func:`encode` and :func:`decode`.

    Returns:
        A :class:`SecureSumResult`; ``|total - exact sum| <= error_bound`` in every coordinate.
        ``shares_checked`` is False when exactly t clients answered in Unmasking, so that a
        bad share could not have been detected.

    Raises:
        TypeError: a vector holds complex or non-numeric values, or an argument has the wrong
            type.
        ValueError: bad arguments, or fewer than t clients left (the protocol refuses).
        ProtocolError: a client or the server refused a message (see :class:`Client`,
            :func:`unmasking`).
    """
    step = _check_fixed_point(modulus_bits, step)
    if len(vectors) < 2:
        raise ValueError(f"vectors holds {len(vectors)} client(s): "
                         "secure aggregation needs at least 2 clients")
    arrays = []
    for i, v in enumerate(vectors):
        try:
            arrays.append(_real_vector(v, f"vectors[{i}]"))
        except ValueError as err:
            if "1-D" in str(err):
                raise ValueError(f"vectors[{i}] must be a non-empty 1-D vector, "
                                 f"got shape {np.shape(v)}") from None
            raise
    n, length = len(arrays), arrays[0].shape[0]
    for i, a in enumerate(arrays):
        if a.shape[0] == 0:
            raise ValueError(f"vectors[{i}] must be a non-empty 1-D vector, got shape {a.shape}")
        if a.shape[0] != length:
            raise ValueError(f"all vectors must have the same length: vectors[0] has length "
                             f"{length}, vectors[{i}] has length {a.shape[0]}")
    check_int("threshold", threshold, min_threshold(n), n,
               f" (more than half of the {n} clients, at most all of them)")
    lost = {}
    for name, group in (("key_dropouts", key_dropouts), ("dropouts", dropouts),
                        ("late_dropouts", late_dropouts)):
        lost[name] = {check_int(f"every entry of {name}", c, 0, n - 1, " (a client number)")
                      for c in group}
    for a, b in (("key_dropouts", "dropouts"), ("key_dropouts", "late_dropouts"),
                 ("dropouts", "late_dropouts")):
        if lost[a] & lost[b]:
            raise ValueError(f"clients {sorted(lost[a] & lost[b])} are in both {a} and {b}")
    encoded = []
    for i, a in enumerate(arrays):
        try:
            encoded.append(encode(a, n, modulus_bits, step))
        except ValueError as err:
            raise ValueError(f"vectors[{i}]: {err}") from None
    randbytes = secrets.token_bytes if seed is None else random.Random(seed).randbytes
    sent = {u: {} for u in range(n)}

    # Round 0, AdvertiseKeys: the server collects U1 (everyone) and broadcasts the keys.
    clients = [Client(u, n, threshold, randbytes) for u in range(n)]
    keys = {u: c.public_keys for u, c in enumerate(clients)}
    for u in range(n):
        sent[u]["advertise_keys"] = 2 * PUBLIC_KEY_BYTES
    # Round 1, ShareKeys: the server forwards e_{u,v} to v; U2 = those that sent them.
    u2 = [u for u in range(n) if u not in lost["key_dropouts"]]
    if len(u2) < threshold:
        raise ValueError(f"only {len(u2)} clients shared their keys but threshold is {threshold}; "
                         "the sum cannot be recovered")
    inbox = {v: {} for v in u2}
    for u in u2:
        for v, message in clients[u].share_keys(keys).items():
            if v in inbox:
                inbox[v][u] = message
        sent[u]["share_keys"] = (n - 1) * SHARE_MESSAGE_BYTES  # recipient id, nonce, ciphertext
    for v in u2:
        clients[v].receive_shares(inbox[v])
    # Round 2, MaskedInputCollection: the dropouts vanish; U3 = everyone else in U2.
    masked = {u: clients[u].masked_input(encoded[u], modulus_bits)
              for u in u2 if u not in lost["dropouts"]}
    plain_bytes = math.ceil(length * modulus_bits / 8)
    for u in masked:
        sent[u]["masked_input_collection"] = plain_bytes
    if len(masked) < threshold:
        raise ValueError(f"only {len(masked)} clients survived but threshold is {threshold}; "
                         "the sum cannot be recovered")
    # (Round 3, ConsistencyCheck, only guards against an active adversary; skipped.)
    # Round 4, Unmasking: the server sends U3 to the clients still there; they answer.
    replies = [clients[u].unmasking_reply(list(masked))
               for u in masked if u not in lost["late_dropouts"]]
    for reply in replies:
        sent[reply.client]["unmasking"] = ((len(reply.b_shares) + len(reply.s_sk_shares))
                                           * FIELD_BYTES)
    encoded_total = unmasking(masked, replies, {u: keys[u] for u in u2}, threshold, modulus_bits)
    return SecureSumResult(
        total=decode(encoded_total, modulus_bits, step),
        encoded_total=encoded_total,
        masked_inputs=masked,
        survivors=tuple(masked),
        dropped=tuple(sorted(lost["key_dropouts"] | lost["dropouts"])),
        error_bound=_error_bound(len(masked), modulus_bits, step),
        shares_checked=len(replies) > threshold,
        bytes_sent={u: ByteCount(**counts) for u, counts in sent.items()},
        plain_bytes=plain_bytes,
    )
