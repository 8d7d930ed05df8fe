"""The ledger: an append-only RFC 9162 Merkle log over SM3 (formats.md §Ledger).

- :mod:`~pyservice.ledger.entries`: entry kinds and canonical entry bytes;
- :mod:`~pyservice.ledger.sth`: signed tree heads (sign, verify, JSON);
- :mod:`~pyservice.ledger.keys`: the platform ledger key (provisional);
- :mod:`~pyservice.ledger.service`: :class:`Ledger`, the batching sequencer
  and the proof reads;
- :mod:`~pyservice.ledger.verify`: the full audit behind ``sidian ledger verify``.
"""

from pyservice.ledger.service import Ledger

__all__ = ["Ledger"]
