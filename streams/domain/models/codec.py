"""The lead state's storage codec: compact bytes for the worker's table, and back.

Positional JSON with short forms; `decode_state` also reads every earlier format.
"""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64
from struct import Struct
from typing import Any

import orjson

from streams.domain.models.records import EVENT_TYPE_INDEX, LEAD_EVENT_TYPES, STAGE_INDEX, STAGES
from streams.domain.models.state import LEGACY_CAP_T, CapEntry, LeadState, ModelScore

_new_state = object.__new__
_TYPE_INDEX_GET = EVENT_TYPE_INDEX.get
_HASHES: dict[int, Struct] = {}  # n -> Struct(">nQ"): a lead remembers at most 64 hashes

# 3: format 2 plus a last element [ho_model, [[model, score_sum, anchor, contrib, caps]...]]
#    (contract 4b scoring models); written only when the state has a model score or a
#    hand-off by a model, so a state without them stays format 2 byte for byte (and a
#    worker from before models can still read it after a rollback).
# 2: caps hold the counted events per window; hand-off flag 16 = escalation breached.
# 1: caps were [type, window, count] triples (decoded as LEGACY_CAP_T entries).
_STATE_FORMAT = 3
_FORMAT_NO_MODELS = 2


def _hashes(n: int) -> Struct:
    st = _HASHES.get(n)
    if st is None:
        st = _HASHES[n] = Struct(f">{n}Q")
    return st


def _pack_seen(seen: list[int]) -> str:
    # one struct call instead of a to_bytes per hash (same big-endian bytes, same base64)
    return b2a_base64(_hashes(len(seen)).pack(*seen), newline=False).decode("ascii")


def _unpack_seen(text: str) -> list[int]:
    raw = a2b_base64(text)
    if len(raw) % 8:  # never written so; read as before (a short last hash)
        return [int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8)]
    return list(_hashes(len(raw) // 8).unpack(raw))


def _encode_caps(caps: dict[int, dict[int, tuple[CapEntry, ...]]], clock: int
                 ) -> list[list[Any]]:
    """[type, window, [clock - t, rule, points, rule, points...], ...] per remembered
    window; a rule named like an event type is written as the type's index (like contrib)."""
    rows: list[list[Any]] = []
    index = EVENT_TYPE_INDEX
    for ti, wins in caps.items():
        for w, counted in wins.items():
            row: list[Any] = [ti, w]
            for t, pts in counted:
                if len(pts) == 1:  # the common case: one rule (the same list, built at once)
                    name, p = pts[0]
                    row.append([clock - t, index.get(name, name), p])
                    continue
                e: list[Any] = [clock - t]
                for name, p in pts:
                    e += (index.get(name, name), p)
                row.append(e)
            rows.append(row)
    return rows


def _encode_contrib(contrib: dict[str, float]) -> list[Any]:
    # Exact: the worker round-trips state through this encoding between records, and
    # must explain a lead exactly as an offline replay (which never encodes) does.
    flat: list[Any] = []
    add = flat.append  # plain appends beat a comprehension of pairs (~2x on 4 rules)
    for k, v in contrib.items():
        add(_TYPE_INDEX_GET(k, k))
        add(v)
    return flat


def _decode_contrib(flat: list[Any]) -> dict[str, float]:
    types = LEAD_EVENT_TYPES
    it = iter(flat)
    return {(types[k] if isinstance(k, int) else k): float(v)
            for k, v in zip(it, it, strict=True)}


def encode_state(state: LeadState) -> bytes:
    """Compact JSON (positional list, short forms); history times relative to the clock."""
    clock = state.clock
    hist: list[int] = []
    for ti, t in state.history:
        hist.append(ti)
        hist.append(clock - t)
    counts: list[int] = []
    for ti, n in state.counts.items():
        counts.append(ti)
        counts.append(n)
    ho: list[Any] = []
    # Sales outcomes can set hand-off flags on a lead that was never handed off: keep the
    # block whenever any field is off its default, or a decoded state would differ.
    if (state.ho_at is not None or state.ho_contact is not None or state.ho_due
            or state.ho_queue or state.ho_path or state.ho_score or state.ho_escalated
            or state.ho_contact_reported or state.ho_accepted or state.ho_closed
            or state.ho_esc_breached):
        ho = [
            state.ho_at,
            state.ho_due,
            state.ho_queue,
            state.ho_path,
            state.ho_score,
            int(state.ho_escalated)
            | int(state.ho_contact_reported) << 1
            | int(state.ho_accepted) << 2
            | int(state.ho_closed) << 3
            | int(state.ho_esc_breached) << 4,
            state.ho_contact,
        ]
    doc = [
        _FORMAT_NO_MODELS,
        state.lead_id,
        STAGE_INDEX[state.stage],
        state.score_sum,
        state.anchor,
        clock,
        state.seq,
        state.events,
        state.ignored,
        state.profile,
        state.grade,
        state.fit_points,
        state.fmask,
        state.criteria,
        state.pcrit,
        state.pv,
        hist,
        counts,
        state.campaigns,
        state.first_touch,
        state.last_touch,
        _encode_contrib(state.contrib),
        _encode_caps(state.caps, clock) if state.caps else [],
        _pack_seen(state.seen),
        state.disq_rule,
        state.owner,
        ho,
    ]
    if state.models or state.ho_model is not None:
        doc[0] = _STATE_FORMAT
        doc.append([state.ho_model, [
            [name, m.score_sum, m.anchor, _encode_contrib(m.contrib),
             _encode_caps(m.caps, clock)] for name, m in state.models.items()]])
    # orjson: the worker encodes every lead's state once per batch (json.dumps was ~5% of
    # its CPU); the same compact JSON, read back by json or orjson alike.
    return orjson.dumps(doc)


def decode_state(data: bytes) -> LeadState:
    doc = orjson.loads(data)
    if not isinstance(doc, list) or not doc or doc[0] not in (1, 2, _STATE_FORMAT):
        raise ValueError("not a leadflow lead state (unknown format)")
    fmt = doc[0]
    extra = doc.pop() if fmt >= 3 else None
    (
        _fmt,
        lead_id,
        stage,
        score_sum,
        anchor,
        clock,
        seq,
        events,
        ignored,
        profile,
        grade,
        fit_points,
        fmask,
        criteria,
        pcrit,
        pv,
        hist,
        counts,
        campaigns,
        first_touch,
        last_touch,
        contrib,
        caps,
        seen,
        disq_rule,
        owner,
        ho,
    ) = doc
    # Every slot is set here, without LeadState.__init__'s defaults first (hot path: the
    # worker decodes the state of each lead a batch touches).
    s = _new_state(LeadState)
    s.lead_id = lead_id
    s.stage = STAGES[stage]
    s.score_sum = float(score_sum)
    s.anchor = anchor
    s.clock = clock
    s.seq = seq
    s.events = events
    s.ignored = ignored
    s.profile = profile
    s.grade = grade
    s.fit_points = float(fit_points)
    s.fmask = fmask
    s.criteria = tuple(criteria)
    s.pcrit = pcrit
    s.pv = pv
    it = iter(hist)
    s.history = [(ti, clock - dt) for ti, dt in zip(it, it, strict=True)]
    it = iter(counts)
    s.counts = dict(zip(it, it, strict=True))
    s.campaigns = campaigns
    s.first_touch = first_touch
    s.last_touch = last_touch
    s.contrib = _decode_contrib(contrib)
    s.caps = {} if not caps else (_decode_caps(caps, clock) if fmt >= 2
                                  else _decode_caps_v1(caps))
    s.seen = _unpack_seen(seen)
    s.disq_rule = disq_rule
    s.owner = owner
    s.models = {}
    s.ho_model = None
    if ho:
        s.ho_at, s.ho_due, s.ho_queue, s.ho_path, ho_score, flags, s.ho_contact = ho
        s.ho_score = float(ho_score)
        s.ho_escalated = bool(flags & 1)
        s.ho_contact_reported = bool(flags & 2)
        s.ho_accepted = bool(flags & 4)
        s.ho_closed = bool(flags & 8)
        s.ho_esc_breached = bool(flags & 16)
    else:
        s.ho_at = None
        s.ho_due = 0
        s.ho_queue = ""
        s.ho_path = ""
        s.ho_score = 0.0
        s.ho_escalated = False
        s.ho_esc_breached = False
        s.ho_contact = None
        s.ho_contact_reported = False
        s.ho_accepted = False
        s.ho_closed = False
    if extra is not None:
        s.ho_model, rows = extra
        for name, score_sum, m_anchor, m_contrib, m_caps in rows:
            m = ModelScore()
            m.score_sum = float(score_sum)
            m.anchor = m_anchor
            m.contrib = _decode_contrib(m_contrib)
            m.caps = _decode_caps(m_caps, clock)
            s.models[name] = m
    return s


def _decode_caps(rows: list[list[Any]], clock: int
                 ) -> dict[int, dict[int, tuple[CapEntry, ...]]]:
    caps: dict[int, dict[int, tuple[CapEntry, ...]]] = {}
    types = LEAD_EVENT_TYPES
    for ti, w, *entries in rows:
        counted = []
        for e in entries:
            if len(e) == 3:  # the common case: one rule
                k = e[1]
                pts: tuple[tuple[str, float], ...] = (
                    (types[k] if isinstance(k, int) else k, float(e[2])),)
            else:
                pts = tuple((types[k] if isinstance(k, int) else k, float(p))
                            for k, p in zip(e[1::2], e[2::2], strict=True))
            counted.append((clock - e[0], pts))
        wins = caps.get(ti)
        if wins is None:
            wins = caps[ti] = {}
        wins[w] = tuple(counted)
    return caps


def _decode_caps_v1(flat: list[int]) -> dict[int, dict[int, tuple[CapEntry, ...]]]:
    """Format 1 kept, per type, the latest window and how many events it counted."""
    return {flat[i]: {flat[i + 1]: ((LEGACY_CAP_T, ()),) * flat[i + 2]}
            for i in range(0, len(flat), 3)}
