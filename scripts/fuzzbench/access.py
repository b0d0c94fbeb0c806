"""QR credentials (text, COSE/CWT structures, mutated real credentials) and OSDP
card numbers: panel/access."""

from __future__ import annotations

import contextlib

import cbor2

from .harness import NOW, Crash, Harness
from .inputs import mutate_bytes, rand_bytes, rand_cbor, rand_text


class Credentials(Harness):
    """Shared set-up of the credential targets: a dev issuer's real credentials."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from panel.access import ReplayGuard, read_credential, rotating_code, verify
        from panel.access.keys import load_public_key
        from panel.sim.issuer import DevIssuer

        self.issuer = DevIssuer(None)
        self.device = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
        self.trusted = {k: load_public_key(v) for k, v in self.issuer.trusted_keys().items()}
        self.read_credential, self.verify, self.ReplayGuard = read_credential, verify, ReplayGuard
        issue = self.issuer.issue
        start = NOW - 60
        device_credential = issue(holder_id="res-2", holder_name="Bea", not_before=start, credential_id="dev-2",
                                  device_key=self.device.public_key())
        self.valid = [
            issue(holder_id="res-1", holder_name="Ana", not_before=start, credential_id="c1"),
            issue(holder_id="vis-1", holder_name="Guest", kind="visitor", hours=4, not_before=start),
            rotating_code(device_credential, self.device, now=NOW),
            device_credential,          # refused on its own: still a good starting point
        ]

    def decide(self, text: str):
        from panel.access.credential import Refused
        try:
            self.read_credential(text, self.trusted)
        except Refused:
            pass
        decision = self.verify(text, now=NOW, door="main", trusted_keys=self.trusted, is_revoked=lambda c: False,
                               visitor_limit_hours=24, replay=self.ReplayGuard())
        if type(decision).__name__ != "Decision":
            raise Crash(f"verify returned {decision!r}")
        return decision


class CredentialText(Credentials):
    def gen(self, rng):
        from panel.access.base45 import ALPHABET, b45encode
        r = rng.random()
        if r < 0.25:
            return rand_text(rng, rng.randint(0, 300))
        if r < 0.5:
            return "EP1:" + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 600)))
        if r < 0.8:
            return "EP1:" + b45encode(rand_bytes(rng, rng.randint(0, 400)))
        if r < 0.95:
            return rng.choice(["ep1:", "EP1", "HC1:", "EP1:EP1:", " EP1:", ""]) + rng.choice(self.valid)[4:]
        return "EP1:" + "0" * rng.choice([4293, 4294, 4295, 5000])

    def check(self, text):
        if self.decide(text).ok:
            raise Crash("random text accepted as a credential")


class CredentialCose(Credentials):
    """CBOR built as COSE_Sign1 / CWT: random insides, or a real claim set with fields
    retyped, and signed with the trusted key, so the claim checks see it."""

    def gen(self, rng):
        from panel.access import credential as c
        r = rng.random()
        if r < 0.3:
            obj = rand_cbor(rng)
            return cbor2.dumps(cbor2.CBORTag(18, obj) if rng.random() < 0.5 else obj)
        claims = {c.ISS: "dev", c.SUB: "res-1", c.EXP: NOW + 3600, c.NBF: NOW - 60, c.CTI: b"c9",
                  c.NAME: "Ana", c.KIND: rng.choice([1, 2]), c.DOORS: ["main"]}
        if rng.random() < 0.2:
            claims[c.CNF] = {1: {1: 1, -1: 6, -2: bytes(self.device.public_key().public_bytes_raw())}}
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(claims) + [rng.randint(-70000, 10)])
            if rng.random() < 0.2:
                claims.pop(key, None)
            else:
                claims[key] = rand_cbor(rng, 2)
        header = {1: -8, 4: self.issuer.kid.encode()}
        if r < 0.45:
            header = rng.choice([{1: -8}, {1: rand_cbor(rng, 1), 4: b"dev-1"}, {1: -8, 4: rand_cbor(rng, 1)},
                                 {1: -8, 4: b"dev-1", rng.randint(-5, 10): rand_cbor(rng, 1)}])
        try:
            payload = cbor2.dumps(claims)
        except Exception:
            payload = b""
        if r > 0.85:   # a rotating code around it, signed by the device key
            inner = c._sign1(self.issuer.private_key, payload, self.issuer.kid)
            presentation = {c.STEP: rng.choice([NOW // 30, rand_cbor(rng, 1)]), c.CRED: inner}
            if rng.random() < 0.3:
                presentation[rng.choice([c.STEP, c.CRED, 3])] = rand_cbor(rng, 1)
            return c._sign1(self.device, cbor2.dumps(presentation), None)
        protected = cbor2.dumps(header)
        signature = self.issuer.private_key.sign(c._sig_structure(protected, payload))
        return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))

    def check(self, raw: bytes):
        from panel.access.base45 import b45encode
        decision = self.decide("EP1:" + b45encode(raw))
        if decision.ok and decision.kind not in ("resident", "visitor"):
            raise Crash(f"accepted a credential of kind {decision.kind!r}")


class CredentialMutated(Credentials):
    def gen(self, rng):
        from panel.access.base45 import ALPHABET, b45decode
        valid = rng.choice(self.valid)
        if rng.random() < 0.5:
            return ("bytes", valid, mutate_bytes(rng, b45decode(valid[4:])))
        body = list(valid[4:])
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(body))
            op = rng.randrange(3)
            if op == 0:
                body[i] = rng.choice(ALPHABET)
            elif op == 1:
                del body[i]
            else:
                body.insert(i, rng.choice(ALPHABET))
        return ("text", valid, "".join(body))

    def check(self, x):
        from panel.access.base45 import b45decode, b45encode
        how, valid, mutated = x
        text = "EP1:" + (b45encode(mutated) if how == "bytes" else mutated)
        if text == valid:
            return
        with contextlib.suppress(ValueError):
            if how == "text" and b45decode(mutated) == b45decode(valid[4:]):
                return
        if self.decide(text).ok:
            raise Crash("an altered credential was accepted")


class OsdpCards(Harness):
    def gen(self, rng):
        fmt = rng.choice(["wiegand", "raw", "raw", "ascii", rand_text(rng, 3)])
        nbytes = rng.choice([0, 1, 3, 4, 5, 8, rng.randint(0, 40)])
        bits = rng.choice([26, 26, 35, 37, 0, -1, 1, nbytes * 8, nbytes * 8 + 1, rng.randint(-10, 400)])
        data = rand_bytes(rng, nbytes).hex()
        if rng.random() < 0.1:
            data = rand_text(rng, rng.randint(0, 8))
        enrolled = rng.choice(["42:12345", "raw:35:1abc", rand_text(rng, 8), f"{rng.randint(0, 999)}:{rng.randint(0, 99999)}",
                               f"raw:{rng.randint(0, 9999)}:{rand_bytes(rng, rng.randint(0, 6)).hex()}", " 7:7 ", "RAW:8:FF"])
        return (fmt, bits, data, enrolled)

    def check(self, x):
        from panel.access.cards import CardError, check_card, normalize_card
        fmt, bits, data, enrolled = x
        try:
            owner = normalize_card(enrolled)
        except CardError:
            owner = None
        result = check_card(fmt, bits, data, owner_of=lambda n: ("r1", "Ana") if n == owner else None,
                            is_revoked=lambda key: key.endswith(":1"))
        if result.ok and result.number != owner:
            raise Crash(f"card {result.number} let in as {owner}")
