"""The firmware kit's tooling: the C codec and the Wireshark dissector, generated from ``wire.py``.

``model`` reads the Construct definition (``wire.py``) and the numbers of ``constants.py`` into one
neutral description; ``render_c``, ``render_lua`` and ``render_vectors`` turn it into the files
committed under ``firmware_protocol/c/`` and ``firmware_protocol/wireshark/``. Run
``python -m firmware_protocol.kit`` to regenerate them, ``--check`` to fail when any is stale
(a test does the same). ``values`` is the one flat form both codecs agree on: a message as the
unsigned integers of its wire fields, in wire order.
"""
