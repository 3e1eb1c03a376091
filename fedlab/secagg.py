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

This is the honest-but-curious version: the signatures and the ConsistencyCheck round
that the paper adds against an actively malicious server are left out. Clients are
numbered ``0 .. n-1``; client ``v`` holds the Shamir shares at ``x = v + 1``. Passing
``seed`` makes a run reproducible (keys included) and is for demos and tests only.
"""

from __future__ import annotations

import dataclasses
import math
import random
import secrets
from typing import Callable, Sequence

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "encode", "decode", "max_abs_value", "prg", "self_mask", "agree", "shamir_share",
    "shamir_reconstruct", "advertise_keys", "share_keys", "masked_input_collection",
    "unmasking_reply", "unmasking", "secure_sum", "ClientSecrets", "AdvertisedKeys",
    "EncryptedShares", "UnmaskingReply", "ByteCount", "SecureSumResult",
]

PRIME = 2**255 - 19  # Shamir field; also the Curve25519 prime
DEFAULT_STEP = 2.0**-16  # fixed-point resolution
MODULUS_BITS = (8, 62)  # k: inputs live in Z_{2^k}; 62 keeps signed values inside int64
MIN_THRESHOLD = 2  # t = 1 would hand every secret to whoever holds one share
PUBLIC_KEY_BYTES, FIELD_BYTES, ID_BYTES, NONCE_BYTES, TAG_BYTES = 32, 32, 4, 12, 16
SHARE_MESSAGE_BYTES = ID_BYTES + NONCE_BYTES + 2 * ID_BYTES + 2 * FIELD_BYTES + TAG_BYTES
MASK_INFO, SHARE_INFO = b"secagg pairwise mask seed", b"secagg share encryption key"

RandBytes = Callable[[int], bytes]


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
        return self.advertise_keys + self.share_keys + self.masked_input_collection + self.unmasking


@dataclasses.dataclass(frozen=True)
class SecureSumResult:
    """Outcome of :func:`secure_sum`: the sum, what the server saw, and the traffic."""

    total: np.ndarray  # decoded float sum over the survivors
    encoded_total: np.ndarray  # the same sum in Z_{2^k}, as uint64
    masked_inputs: dict[int, np.ndarray]  # y_u: all the server ever saw of the inputs
    survivors: tuple[int, ...]  # U3: clients whose masked input counts
    dropped: tuple[int, ...]  # U2 \ U3: shared keys, then vanished
    error_bound: float  # len(survivors) * step / 2: |total - exact sum| <= this (+ float64 rounding)
    bytes_sent: dict[int, ByteCount]
    plain_bytes: int  # sending the encoded vector in the clear: ceil(d * k / 8)

    @property
    def expansion(self) -> float:
        """Bytes sent by a client that took part in every round / plain_bytes."""
        return max(count.total for count in self.bytes_sent.values()) / self.plain_bytes


# ----------------------------------------------------------------- fixed point


def _check_int(name: str, value, low: int, high: int, what: str = "") -> int:
    """Returns value as an int, or raises if it is not an integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}{what}, got {value!r}")
    return int(value)


def _check_fixed_point(modulus_bits: int, step: float) -> None:
    _check_int("modulus_bits", modulus_bits, *MODULUS_BITS)
    if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise ValueError(f"step must be a finite number > 0, got {step!r}")


def _low_bits(modulus_bits: int) -> np.uint64:
    return np.uint64((1 << modulus_bits) - 1)


def _word(modulus_bits: int) -> type:
    """Masks are computed in uint32 when k <= 32 (half the work), else in uint64."""
    return np.uint32 if modulus_bits <= 32 else np.uint64


def _max_units(n_clients: int, modulus_bits: int) -> int:
    return (2 ** (modulus_bits - 1) - 1) // n_clients


def max_abs_value(n_clients: int = 1, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> float:
    """Largest |x| that :func:`encode` accepts: a sum of n_clients encodings cannot wrap around."""
    _check_fixed_point(modulus_bits, step)
    limit = _max_units(_check_int("n_clients", n_clients, 1, 2**modulus_bits), modulus_bits)
    value = limit * step
    while int(np.rint(value / step)) > limit:  # float rounding can land a step too high
        value = math.nextafter(value, 0.0)
    return value


def encode(x, n_clients: int = 1, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> np.ndarray:
    """Round x / step to the nearest integer and store it mod 2^k (negatives wrap to the top).

    Raises:
        ValueError: a value is not finite, or rounds outside
            ``[-max_abs_value(n_clients, ...), max_abs_value(n_clients, ...)]``, the range
            in which the sum of n_clients encodings cannot overflow.
    """
    _check_fixed_point(modulus_bits, step)
    n_clients = _check_int("n_clients", n_clients, 1, 2**modulus_bits)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector, got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"x[{i}] = {x[i]} is not finite; only finite values can be encoded")
    limit = _max_units(n_clients, modulus_bits)
    units = np.rint(x / step)
    over = np.abs(units) > float(limit)  # coarse check first, so the int64 cast is safe
    if not over.any():
        units = units.astype(np.int64)
        over = np.abs(units) > limit  # exact check
    if over.any():
        i, bound = int(np.argmax(over)), max_abs_value(n_clients, modulus_bits, step)
        raise ValueError(
            f"x[{i}] = {x[i]} is outside the fixed-point range [-{bound:.6g}, {bound:.6g}] allowed "
            f"for n_clients={n_clients}, modulus_bits={modulus_bits}, step={step:g}; "
            "use more modulus_bits, a larger step, or clip the inputs"
        )
    return units.astype(np.uint64) & _low_bits(modulus_bits)


def decode(v, modulus_bits: int = 32, step: float = DEFAULT_STEP) -> np.ndarray:
    """Inverse of :func:`encode`, also for a sum of encodings (the top half of Z_{2^k} is < 0).

    If v is the sum mod 2^k of the encodings of x_1..x_n, each within
    ``max_abs_value(n, ...)``, then ``|decode(v) - (x_1 + ... + x_n)| <= n * step / 2``:
    each encoding rounds by at most step / 2. decode adds only float64 rounding, none at
    all when step is a power of two and the sum is below 2^53 steps.
    """
    _check_fixed_point(modulus_bits, step)
    v = np.asarray(v, dtype=np.uint64) & _low_bits(modulus_bits)
    signed = v.astype(np.int64)
    signed[v >= np.uint64(1 << (modulus_bits - 1))] -= np.int64(1 << modulus_bits)
    return signed.astype(np.float64) * step


# ----------------------------------------------------------------- primitives


def prg(seed: bytes, length: int, modulus_bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """PRG: expand a 32-byte seed into ``length`` uniform integers mod 2^modulus_bits.

    The words are uint32 when modulus_bits <= 32 (half the AES work), else uint64.
    ``out``, a uint64 array of at least length + 2 words (``update_into`` wants 15 spare
    bytes), is overwritten and reused instead of allocating; loops over many pairs pass
    one, since fresh 10^5-word arrays cost more in page faults than AES does.
    """
    out = np.empty(length + 2, dtype=np.uint64) if out is None else out
    word = _word(modulus_bits)
    words = out.view(word)[:length]
    words.fill(0)
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    encryptor.update_into(words.view(np.uint8), out.view(np.uint8))  # zeros -> key stream, in place
    words &= word((1 << modulus_bits) - 1)
    return words


def self_mask(b: int, length: int, modulus_bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """PRG(b_u): client u's self mask, from its seed b_u."""
    return prg(b.to_bytes(FIELD_BYTES, "little"), length, modulus_bits, out)


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


def shamir_share(secret: int, threshold: int, n_shares: int, randbytes: RandBytes = secrets.token_bytes) -> list[tuple[int, int]]:
    """SS.share: shares ``(x, f(x))`` for x = 1..n_shares of a random polynomial f with f(0) = secret.

    f has degree threshold - 1, so any ``threshold`` shares determine it and fewer say
    nothing about the secret.
    """
    if not 0 <= secret < PRIME:
        raise ValueError(f"secret must be in [0, 2^255 - 19), got {secret}")
    if not 1 <= threshold <= n_shares:
        raise ValueError(f"threshold must be between 1 and n_shares = {n_shares}, got {threshold}")
    coefficients = [secret] + [_random_field_element(randbytes) for _ in range(threshold - 1)]
    shares = []
    for x in range(1, n_shares + 1):
        y = 0
        for c in reversed(coefficients):  # Horner's rule
            y = (y * x + c) % PRIME
        shares.append((x, y))
    return shares


def _lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """Weights l_j with f(0) = sum_j l_j f(x_j) for every polynomial f of degree < len(xs)."""
    if not xs or len(set(xs)) != len(xs):
        raise ValueError(f"need at least one share and distinct x-coordinates, got x = {list(xs)}")
    weights = []
    for j, xj in enumerate(xs):
        num = den = 1
        for m, xm in enumerate(xs):
            if m != j:
                num, den = num * xm % PRIME, den * (xm - xj) % PRIME
        weights.append(num * pow(den, -1, PRIME) % PRIME)
    return weights


def shamir_reconstruct(shares: Sequence[tuple[int, int]]) -> int:
    """SS.recon: Lagrange interpolation at 0. With >= threshold shares this is the secret."""
    weights = _lagrange_at_zero([x for x, _ in shares])
    return sum(w * y for w, (_, y) in zip(weights, shares)) % PRIME


# ----------------------------------------------------------------- the rounds


def advertise_keys(client: int, randbytes: RandBytes = secrets.token_bytes) -> tuple[ClientSecrets, AdvertisedKeys]:
    """Round 0 (AdvertiseKeys), client u: make key pairs (c_u^PK, c_u^SK), (s_u^PK, s_u^SK); send the PKs."""
    me = ClientSecrets(client, c_sk=_random_field_element(randbytes), s_sk=_random_field_element(randbytes))
    c_pk, s_pk = (_dh_key(sk).public_key().public_bytes_raw() for sk in (me.c_sk, me.s_sk))
    return me, AdvertisedKeys(client, c_pk, s_pk)


def share_keys(
    me: ClientSecrets, keys: dict[int, AdvertisedKeys], threshold: int, randbytes: RandBytes = secrets.token_bytes
) -> tuple[ClientSecrets, dict[int, EncryptedShares]]:
    """Round 1 (ShareKeys), client u: draw b_u, Shamir-share s_u^SK and b_u, encrypt v's shares for v.

    ``keys`` are the public keys of U1 (clients 0..n-1). The message to u itself is kept.
    """
    u, n = me.client, len(keys)
    me = dataclasses.replace(me, b=_random_field_element(randbytes))
    s_shares = shamir_share(me.s_sk, threshold, n, randbytes)
    b_shares = shamir_share(me.b, threshold, n, randbytes)
    outgoing, c_sk = {}, _dh_key(me.c_sk)
    for v in sorted(keys):
        plaintext = b"".join(
            [u.to_bytes(ID_BYTES, "big"), v.to_bytes(ID_BYTES, "big"),
             s_shares[v][1].to_bytes(FIELD_BYTES, "little"), b_shares[v][1].to_bytes(FIELD_BYTES, "little")]
        )
        nonce = randbytes(NONCE_BYTES)
        ciphertext = AESGCM(agree(c_sk, keys[v].c_pk, SHARE_INFO)).encrypt(nonce, plaintext, None)
        outgoing[v] = EncryptedShares(u, v, nonce, ciphertext)
    return me, outgoing


def masked_input_collection(me: ClientSecrets, x: np.ndarray, keys: dict[int, AdvertisedKeys], modulus_bits: int) -> np.ndarray:
    """Round 2 (MaskedInputCollection), client u: send y_u, all in Z_{2^k}.

    ``y_u = x_u + PRG(b_u) + sum_{v in U2, v > u} PRG(s_uv) - sum_{v in U2, v < u} PRG(s_uv)``,
    where s_uv = KA.agree(s_u^SK, s_v^PK) = s_vu, so over all of U2 the pairwise masks cancel.
    ``x`` is u's encoded input; ``keys`` are the public keys of U2.
    """
    u, length = me.client, len(x)
    s_sk, scratch = _dh_key(me.s_sk), np.empty(length + 2, dtype=np.uint64)
    y = np.asarray(x).astype(_word(modulus_bits)) + self_mask(me.b, length, modulus_bits, scratch)
    for v in sorted(keys):
        if v != u:
            mask = prg(agree(s_sk, keys[v].s_pk, MASK_INFO), length, modulus_bits, scratch)
            if v > u:
                y += mask  # wraps mod 2^32 or 2^64, both multiples of 2^k
            else:
                y -= mask
    return y.astype(np.uint64) & _low_bits(modulus_bits)


def unmasking_reply(
    me: ClientSecrets, received: dict[int, EncryptedShares], keys: dict[int, AdvertisedKeys], survivors: Sequence[int]
) -> UnmaskingReply:
    """Round 4 (Unmasking), client u: decrypt each e_{v,u}; reveal b_v's share if v is in U3, else s_v^SK's.

    Never both for the same v: with b_v and s_v^SK the server could unmask y_v alone.
    """
    survivors, c_sk = set(survivors), _dh_key(me.c_sk)
    b_shares, s_sk_shares = {}, {}
    for v, message in received.items():
        key = agree(c_sk, keys[v].c_pk, SHARE_INFO)
        plaintext = AESGCM(key).decrypt(message.nonce, message.ciphertext, None)
        sender, recipient = int.from_bytes(plaintext[:4], "big"), int.from_bytes(plaintext[4:8], "big")
        if (sender, recipient) != (v, me.client):
            raise ValueError(f"shares from client {v} were addressed {sender} -> {recipient}; aborting")
        s_share, b_share = int.from_bytes(plaintext[8:40], "little"), int.from_bytes(plaintext[40:], "little")
        if v in survivors:
            b_shares[v] = (me.client + 1, b_share)
        else:
            s_sk_shares[v] = (me.client + 1, s_share)
    return UnmaskingReply(me.client, b_shares, s_sk_shares)


def unmasking(
    masked: dict[int, np.ndarray], replies: Sequence[UnmaskingReply], keys: dict[int, AdvertisedKeys], threshold: int, modulus_bits: int
) -> np.ndarray:
    """Round 4 (Unmasking), server: sum_{u in U3} x_u mod 2^k from the y_u of U3 and >= t replies.

    Rebuilds b_u for every survivor u and subtracts PRG(b_u); rebuilds s_v^SK for every
    dropped v (in U2 = ``keys`` but not in U3 = ``masked``) and takes v's pairwise masks
    back out of the survivors' y_u.
    """
    if len(replies) < threshold:
        raise ValueError(
            f"only {len(replies)} clients survived to the unmasking round but threshold is "
            f"{threshold}; the sum cannot be recovered"
        )
    replies = list(replies)[:threshold]
    weights = _lagrange_at_zero([r.client + 1 for r in replies])  # client v holds x = v + 1

    def rebuild(field: str, v: int) -> int:
        return sum(w * getattr(r, field)[v][1] for w, r in zip(weights, replies)) % PRIME

    length = len(next(iter(masked.values())))
    z, scratch = np.zeros(length, dtype=np.uint64), np.empty(length + 2, dtype=np.uint64)
    for u in masked:
        z += masked[u]
        z -= self_mask(rebuild("b_shares", u), length, modulus_bits, scratch)
    for v in sorted(set(keys) - set(masked)):
        s_sk = _dh_key(rebuild("s_sk_shares", v))
        for u in masked:
            mask = prg(agree(s_sk, keys[u].s_pk, MASK_INFO), length, modulus_bits, scratch)
            if v > u:  # u added +PRG(s_uv) for this v, and v's -PRG(s_uv) never arrived
                z -= mask
            else:
                z += mask
    return z & _low_bits(modulus_bits)


# ----------------------------------------------------------------- driver


def secure_sum(
    vectors: Sequence,
    threshold: int,
    dropouts: Sequence[int] = (),
    seed: int | None = None,
    *,
    late_dropouts: Sequence[int] = (),
    modulus_bits: int = 32,
    step: float = DEFAULT_STEP,
) -> SecureSumResult:
    """Run the protocol for n = len(vectors) clients; return the sum over the survivors.

    Args:
        vectors: one 1-D float vector per client, all the same length.
        threshold: t, with 2 <= t <= n; the server needs t clients in every round.
        dropouts: clients that vanish after ShareKeys, before sending their masked input.
        seed: None draws all secrets from ``secrets``; an int makes the run reproducible.
        late_dropouts: clients that send their masked input, then vanish before Unmasking.
        modulus_bits: k, the inputs and masks live in Z_{2^k}.
        step: the fixed-point resolution; see :func:`encode` and :func:`decode`.

    Raises:
        ValueError: bad arguments, or fewer than t clients left (the protocol refuses).
    """
    _check_fixed_point(modulus_bits, step)
    if len(vectors) == 0:
        raise ValueError("vectors is empty: secure aggregation needs at least 2 clients")
    arrays = [np.asarray(v, dtype=np.float64) for v in vectors]
    n, length = len(arrays), arrays[0].shape[0] if arrays[0].ndim == 1 else -1
    for i, a in enumerate(arrays):
        if a.ndim != 1 or a.shape[0] == 0:
            raise ValueError(f"vectors[{i}] must be a non-empty 1-D vector, got shape {a.shape}")
        if a.shape[0] != length:
            raise ValueError(f"all vectors must have the same length: vectors[0] has length {length}, vectors[{i}] has length {a.shape[0]}")
    _check_int("threshold", threshold, MIN_THRESHOLD, n, " (the number of clients)")
    early = {_check_int("every entry of dropouts", c, 0, n - 1, " (a client number)") for c in dropouts}
    late = {_check_int("every entry of late_dropouts", c, 0, n - 1, " (a client number)") for c in late_dropouts}
    if early & late:
        raise ValueError(f"clients {sorted(early & late)} are in both dropouts and late_dropouts")
    encoded = []
    for i, a in enumerate(arrays):
        try:
            encoded.append(encode(a, n, modulus_bits, step))
        except ValueError as err:
            raise ValueError(f"vectors[{i}]: {err}") from None
    randbytes = secrets.token_bytes if seed is None else random.Random(seed).randbytes
    sent = {u: {} for u in range(n)}

    # Round 0, AdvertiseKeys: the server collects U1 (everyone) and broadcasts the keys.
    state, keys = {}, {}
    for u in range(n):
        state[u], keys[u] = advertise_keys(u, randbytes)
        sent[u]["advertise_keys"] = 2 * PUBLIC_KEY_BYTES
    # Round 1, ShareKeys: the server forwards e_{u,v} to v; U2 = everyone.
    inbox = {v: {} for v in range(n)}
    for u in range(n):
        state[u], outgoing = share_keys(state[u], keys, threshold, randbytes)
        for v, message in outgoing.items():
            inbox[v][u] = message
        sent[u]["share_keys"] = (n - 1) * SHARE_MESSAGE_BYTES  # recipient id, nonce, ciphertext
    # Round 2, MaskedInputCollection: the dropouts vanish; U3 = everyone else.
    masked = {u: masked_input_collection(state[u], encoded[u], keys, modulus_bits) for u in range(n) if u not in early}
    plain_bytes = math.ceil(length * modulus_bits / 8)
    for u in masked:
        sent[u]["masked_input_collection"] = plain_bytes
    if len(masked) < threshold:
        raise ValueError(f"only {len(masked)} clients survived but threshold is {threshold}; the sum cannot be recovered")
    # (Round 3, ConsistencyCheck, only guards against an active adversary; skipped.)
    # Round 4, Unmasking: the server sends U3 to the clients still there; they answer.
    replies = [unmasking_reply(state[u], inbox[u], keys, list(masked)) for u in masked if u not in late]
    for reply in replies:
        sent[reply.client]["unmasking"] = (len(reply.b_shares) + len(reply.s_sk_shares)) * FIELD_BYTES
    encoded_total = unmasking(masked, replies, keys, threshold, modulus_bits)
    return SecureSumResult(
        total=decode(encoded_total, modulus_bits, step),
        encoded_total=encoded_total,
        masked_inputs=masked,
        survivors=tuple(masked),
        dropped=tuple(sorted(early)),
        error_bound=len(masked) * step / 2,
        bytes_sent={u: ByteCount(**counts) for u, counts in sent.items()},
        plain_bytes=plain_bytes,
    )
