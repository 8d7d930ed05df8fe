"""The registry (source of truth) and the issuing side: issuers, keys,
licence types, licences, status lifecycle, annotations, signed documents,
bulk conversion of existing licences.

- :mod:`~pyservice.registry.validate`: the validation rules (pure);
- :mod:`~pyservice.registry.keys`: master key, wrapped keys, key lookups;
- :mod:`~pyservice.registry.service`: issuance and lifecycle;
- :mod:`~pyservice.registry.document`: signed licence documents (offline checks);
- :mod:`~pyservice.registry.bulk`: ``sidian import``;
- :mod:`~pyservice.registry.cli`: the ``sidian`` registry commands.
"""
