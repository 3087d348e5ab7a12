"""Model providers: one module per wire format, each translating it into goose_nb's messages.

``base.py`` is the interface, ``http.py`` the one retry path, ``registry.py`` maps the names
of ``config.PROVIDER_NAMES`` to classes; ``detect.py`` picks a provider when none is set;
``recording.py`` and ``replay.py`` write and play cassettes.
"""
